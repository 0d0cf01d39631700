// Passkeys (WebAuthn): making one on the second-factor page, signing in with one on the second
// step. The server's options arrive as JSON with binary fields in base64url; the browser's
// answer goes back the same way, with the page's CSRF token in the X-CSRFToken header. Without
// this script (or without WebAuthn) the forms post normally and the server says what to do.
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, {id: toBytes(item.id)});
    });
  }

  function post(form, url, body) {
    var token = form.querySelector("input[name=csrf_token]").value;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        // too long since the password: the page that asks for it again, then back here
        if (response.status === 403 && data.confirm) {
          window.location.assign(data.confirm);
          return new Promise(function () {});
        }
        if (!response.ok) throw new Error(data.error || form.dataset.failed);
        return data;
      });
    });
  }

  function watch(form, run) {
    var status = form.querySelector(".passkey-status");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      status.textContent = "";
      run().then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (error) {
        // a person who closed the browser's passkey dialog gets the page's own words
        status.textContent = error && error.name === "Error" ? error.message : form.dataset.failed;
        button.disabled = false;
      });
    });
  }

  document.querySelectorAll("form.passkey-register").forEach(function (form) {
    watch(form, function () {
      var name = form.querySelector("input[name=name]");
      return post(form, form.dataset.optionsUrl, {}).then(function (options) {
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        options.excludeCredentials = withBytes(options.excludeCredentials);
        return navigator.credentials.create({publicKey: options});
      }).then(function (credential) {
        var response = credential.response;
        return post(form, form.action, {
          name: name ? name.value : "",
          credential: {
            id: credential.id,
            rawId: toText(credential.rawId),
            type: credential.type,
            response: {
              clientDataJSON: toText(response.clientDataJSON),
              attestationObject: toText(response.attestationObject),
              transports: response.getTransports ? response.getTransports() : [],
            },
            clientExtensionResults: credential.getClientExtensionResults(),
            authenticatorAttachment: credential.authenticatorAttachment || undefined,
          },
        });
      });
    });
  });

  document.querySelectorAll("form.passkey-sign-in").forEach(function (form) {
    watch(form, function () {
      return post(form, form.dataset.optionsUrl, {}).then(function (options) {
        options.challenge = toBytes(options.challenge);
        options.allowCredentials = withBytes(options.allowCredentials);
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        var response = credential.response;
        return post(form, form.action, {
          credential: {
            id: credential.id,
            rawId: toText(credential.rawId),
            type: credential.type,
            response: {
              clientDataJSON: toText(response.clientDataJSON),
              authenticatorData: toText(response.authenticatorData),
              signature: toText(response.signature),
              userHandle: response.userHandle ? toText(response.userHandle) : undefined,
            },
            clientExtensionResults: credential.getClientExtensionResults(),
            authenticatorAttachment: credential.authenticatorAttachment || undefined,
          },
        });
      });
    });
  });
})();
