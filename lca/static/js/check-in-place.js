// A session that checks where phones are: "Share my location and check in" asks the browser
// for the phone's position once, puts it in the form and sends it. The position is sent only
// with this check-in; the server keeps only whether it was inside the session's radius.
(function () {
  var button = document.querySelector("button[data-share-place]");
  if (!button) return;
  var form = button.form;
  var problem = document.getElementById("place-problem");
  function show(message) {
    problem.textContent = message;
    problem.hidden = false;
    button.disabled = false;
  }
  form.addEventListener("submit", function (event) {
    if (form.dataset.placed) return;
    event.preventDefault();
    if (!navigator.geolocation) { show(problem.dataset.unsupported); return; }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        document.getElementById("latitude").value = position.coords.latitude;
        document.getElementById("longitude").value = position.coords.longitude;
        form.dataset.placed = "yes";
        form.submit();
      },
      function () { show(problem.dataset.denied); },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  });
})();
