// The check-in screen: shows each new code as it comes (every 30 seconds) and refreshes the
// roster every few seconds, without reloading the page. Without the script, the page shows
// the code of the moment it was opened: reload it to get the next one.
(function () {
  var screen = document.querySelector(".check-in-screen");
  if (!screen) return;
  var image = document.getElementById("check-in-qr");
  var roster = document.getElementById("roster");
  var codeUrl = screen.dataset.codeUrl;
  var rosterUrl = screen.dataset.rosterUrl;
  var last = null;

  function nextCode() {
    fetch(codeUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer); })
      .then(function (code) {
        if (image && image.dataset.step !== String(code.step)) {
          image.src = code.qr;
          image.dataset.step = String(code.step);
        }
        window.setTimeout(nextCode, Math.max(1, code.refresh_in) * 1000 + 200);
      })
      .catch(function () { window.setTimeout(nextCode, 5000); });
  }

  function refreshRoster() {
    fetch(rosterUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer); })
      .then(function (html) {
        // not while someone is on one of its buttons (the focus would be lost), and only when
        // something changed; the counts above the table are a status that screen readers
        // announce, not the whole table
        if (html !== last && !roster.contains(document.activeElement)) {
          roster.innerHTML = html;
          last = html;
        }
      })
      .catch(function () {})
      .then(function () { window.setTimeout(refreshRoster, 5000); });
  }

  if (image) nextCode();
  if (roster && rosterUrl) window.setTimeout(refreshRoster, 5000);
})();
