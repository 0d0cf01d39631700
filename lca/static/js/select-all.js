// "Select all on this page" in the review queue: without JavaScript it is a link the server
// answers with every log of the page ticked; with it, a button that ticks or clears them here.
(function () {
  var link = document.querySelector("[data-select-all]");
  if (!link) return;
  var form = link.closest("form");
  var boxes = form ? form.querySelectorAll("input[type=checkbox][name=log_ids]") : [];
  if (!boxes.length) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  function allTicked() {
    return Array.prototype.every.call(boxes, function (box) { return box.checked; });
  }
  function update() {
    var all = allTicked();
    button.textContent = all ? link.dataset.clearText : link.dataset.selectText;
  }
  button.addEventListener("click", function () {
    var tick = !allTicked();
    Array.prototype.forEach.call(boxes, function (box) { box.checked = tick; });
    update();
  });
  Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("change", update); });
  link.replaceWith(button);
  update();
})();
