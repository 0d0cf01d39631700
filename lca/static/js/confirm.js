// Ask before a destructive action: a submit button (or its form) with data-confirm="…" opens a
// dialog with that sentence, a button that goes ahead and one that cancels (Escape cancels too).
// Without JavaScript the form simply submits: the server's rules decide.
(function () {
  var template = document.getElementById("confirm-dialog");
  if (!template) return;
  var confirmed = null; //: the form being resubmitted after a "yes"

  function question(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) return submitter.dataset.confirm;
    return form.hasAttribute("data-confirm") ? form.dataset.confirm : "";
  }

  function goAhead(form, submitter) {
    confirmed = form;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(submitter || undefined);
    } else {
      if (submitter && submitter.name) {
        var value = document.createElement("input");
        value.type = "hidden";
        value.name = submitter.name;
        value.value = submitter.value;
        form.appendChild(value);
      }
      form.submit();
    }
  }

  function ask(text, form, submitter) {
    var dialog = template.content.firstElementChild.cloneNode(true);
    var yes = dialog.querySelector("[data-confirm-yes]");
    var no = dialog.querySelector("[data-confirm-no]");
    dialog.querySelector("[data-confirm-text]").textContent = text;
    var label = submitter && (submitter.innerText || submitter.value || "").trim();
    if (label) yes.textContent = label;
    if (submitter && submitter.classList.contains("button-danger")) {
      yes.classList.add("button-danger");
    }
    document.body.appendChild(dialog);
    var answered = false;
    function close(go) {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      if (go) {
        goAhead(form, submitter);
      } else if (submitter) {
        submitter.focus();
      }
    }
    yes.addEventListener("click", function () { close(true); });
    no.addEventListener("click", function () { close(false); });
    dialog.addEventListener("keydown", function (event) { // Tab stays inside the question
      if (event.key !== "Tab") return;
      event.preventDefault();
      (document.activeElement === yes ? no : yes).focus();
    });
    dialog.addEventListener("cancel", function (event) { // Escape
      event.preventDefault();
      close(false);
    });
    dialog.showModal();
    no.focus(); // the safe choice has the focus
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (confirmed === form) {
      confirmed = null;
      return;
    }
    var submitter = event.submitter || null;
    var text = question(form, submitter);
    if (!text) return;
    event.preventDefault();
    if (typeof HTMLDialogElement === "function" && "showModal" in HTMLDialogElement.prototype) {
      ask(text, form, submitter);
    } else if (window.confirm(text)) {
      goAhead(form, submitter);
    }
  });
})();
