// The add-lesson form shows only the fields of the chosen lesson kind (data-kinds on each part).
(function () {
  var form = document.getElementById("lesson-form");
  if (!form) return;
  var kind = form.querySelector("select[name=kind]");
  function show() {
    var parts = form.querySelectorAll("[data-kinds]");
    for (var i = 0; i < parts.length; i++) {
      parts[i].hidden = parts[i].getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
    }
  }
  kind.addEventListener("change", show);
  show();
})();
