// Show the field-practice questions only when a field-practice module is chosen.
// Without JavaScript every question stays visible and the server decides.
(function () {
  var form = document.querySelector("form.log-form");
  if (!form) return;
  var fieldModules = (form.dataset.fieldModules || "").split(",");
  var module = form.querySelector("[name=module_id]");
  var details = document.getElementById("field-details");
  if (!module || !details) return;
  function update() {
    details.hidden = fieldModules.indexOf(module.value) === -1;
  }
  module.addEventListener("change", update);
  update();
})();
