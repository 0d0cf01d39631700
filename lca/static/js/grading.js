// Add up a grading's points as they are typed, and say whether the total reaches the pass mark.
// Without JavaScript the total shows when the page comes back; the server computes the grade's
// total itself either way.
(function () {
  var form = document.querySelector("form.grading-form");
  if (!form) return;
  var output = form.querySelector("output.grade-total");
  var verdict = form.querySelector(".grade-verdict");
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-points]"));
  var passMark = Number(form.dataset.passMark);
  if (!output || !verdict || !inputs.length) return;

  function points(input) {
    var text = input.value.trim();
    if (!/^\d+$/.test(text)) return null;
    var value = Number(text);
    return value <= Number(input.max) ? value : null;
  }

  function update() {
    var total = 0;
    var complete = true;
    inputs.forEach(function (input) {
      var value = points(input);
      if (value === null) complete = false;
      else total += value;
    });
    output.textContent = String(total);
    verdict.textContent = !complete
      ? form.dataset.incomplete
      : total >= passMark ? form.dataset.reaches : form.dataset.below;
  }

  inputs.forEach(function (input) { input.addEventListener("input", update); });
  update();
})();

// A fail is final: when "fail" is the chosen result, the save button asks first (the shared
// confirm.js reads data-confirm when the form is sent).
(function () {
  var form = document.querySelector("form.grading-form");
  var button = form && form.querySelector(".grade-submit");
  if (!button) return;
  function update() {
    var chosen = form.querySelector("input[name=result]:checked");
    var failing = chosen !== null && chosen.value === "fail";
    button.classList.toggle("button-danger", failing);
    if (failing) button.setAttribute("data-confirm", button.dataset.confirmFail);
    else button.removeAttribute("data-confirm");
  }
  form.addEventListener("change", update);
  update();
})();
