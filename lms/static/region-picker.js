/* The step-by-step region picker (templates/_forms.html region_steps): choosing an area fills the
   next step from /regions/children and empties the ones below; without this script the form's
   "next level" button reloads the form instead. */
(function () {
  if (!window.fetch || window.xxRegionPicker) return;
  window.xxRegionPicker = true;
  var pickers = document.querySelectorAll(".region-steps");
  Array.prototype.forEach.call(pickers, function (box) {
    var url = box.getAttribute("data-children");
    var selects = Array.prototype.slice.call(box.querySelectorAll("select"));
    var next = box.querySelector(".region-next");
    if (next) next.hidden = true;
    function clear(from) {
      for (var i = from; i < selects.length; i++) {
        var s = selects[i];
        while (s.options.length > 1) s.remove(1);
        s.disabled = true;
      }
    }
    selects.forEach(function (select, index) {
      select.addEventListener("change", function () {
        clear(index + 1);
        var below = selects[index + 1];
        if (!below || !select.value) return;
        below.options[0].textContent = select.hasAttribute("data-whole")
          ? box.getAttribute("data-all-of").replace("%s", select.options[select.selectedIndex].textContent)
          : box.getAttribute("data-choose");
        fetch(url + "?code=" + encodeURIComponent(select.value), {credentials: "same-origin",
                                                                  headers: {"Accept": "application/json"}})
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (rows) {
            rows.forEach(function (row) { below.add(new Option(row.name, row.code)); });
            below.disabled = rows.length === 0;
          })
          .catch(function () { if (next) next.hidden = false; });  // the reload still works
      });
    });
  });
})();
