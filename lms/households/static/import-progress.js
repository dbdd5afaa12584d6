// Polls an import's progress and reloads the page when the job is done.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var done = box.querySelector("[data-done]");
  var total = box.querySelector("[data-total]");
  function poll() {
    fetch(box.getAttribute("data-url"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        bar.value = data.progress.percent;
        bar.textContent = data.progress.percent + "%";
        done.textContent = data.progress.done;
        total.textContent = data.progress.total;
        if (data.status !== "queued" && data.status !== "running") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
