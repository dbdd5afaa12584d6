// A shown ID number masks itself again after a minute (the page says so; the view was logged).
(function () {
  var shown = document.querySelectorAll(".revealed[data-masked]");
  for (var i = 0; i < shown.length; i++) {
    (function (el) {
      setTimeout(function () {
        el.textContent = el.getAttribute("data-masked");
        el.classList.remove("revealed");
        var note = el.parentNode.querySelector(".reveal-note");
        if (note) note.parentNode.removeChild(note);
      }, 1000 * (parseInt(el.getAttribute("data-seconds"), 10) || 60));
    })(shown[i]);
  }
})();
