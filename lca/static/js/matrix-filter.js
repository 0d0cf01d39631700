// The cohort matrix: the list and the table narrow down to the learners whose name holds the
// words typed in the search box, as they are typed. Without JavaScript the search box is an
// ordinary form: the server filters (?q=).
(function () {
  var box = document.getElementById("matrix-q");
  if (!box) return;
  var items = document.querySelectorAll(".learner-card[data-name], .matrix tbody tr[data-name]");
  var none = document.querySelector(".matrix-no-match");
  if (!items.length) return; // the server found nobody: its words stay
  function update() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (item) {
      var name = item.dataset.name;
      var match = words.every(function (word) { return name.indexOf(word) !== -1; });
      item.hidden = !match;
      if (match && item.classList.contains("learner-card")) shown += 1;
    });
    if (none) none.hidden = shown > 0;
  }
  box.addEventListener("input", update);
  update();
})();
