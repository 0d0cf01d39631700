// "All present" on the attendance sheet: marks present, on the page, every learner not yet
// marked; nothing is saved until "Save attendance". Without JavaScript the same button asks
// the server, which shows the sheet again with those rows marked.
(function () {
  var button = document.querySelector("[data-mark-all]");
  if (!button) return;
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var value = button.dataset.markAll;
    document.querySelectorAll("table.attendance tbody tr").forEach(function (row) {
      var radios = row.querySelectorAll("input[type=radio]");
      var marked = Array.prototype.some.call(radios, function (radio) { return radio.checked; });
      if (marked) return;
      radios.forEach(function (radio) {
        if (radio.value === value) radio.checked = true;
      });
      row.removeAttribute("data-unmarked");
      var badge = row.querySelector(".badge-unmarked");
      if (badge) badge.hidden = true;
    });
  });
})();
