/* Live status and progress of the trainer's media: polls while anything is still moving. */
(function () {
  var root = document.getElementById("media-list") || document.getElementById("media-one");
  if (!root || !window.fetch) return;
  var url = root.getAttribute("data-status-url");
  var moving = {uploading: 1, queued: 1, transcoding: 1};
  function rows() { return root.id === "media-one" ? [root] : Array.prototype.slice.call(root.querySelectorAll("[data-asset]")); }
  function poll() {
    var busy = rows().filter(function (r) { return moving[r.getAttribute("data-status")]; });
    if (!busy.length) return;
    var ids = busy.map(function (r) { return r.getAttribute("data-asset"); }).join(",");
    fetch(url + "?ids=" + ids, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {assets: []}; })
      .then(function (data) {
        data.assets.forEach(function (a) {
          var row = root.id === "media-one" ? root : root.querySelector('[data-asset="' + a.id + '"]');
          if (!row) return;
          var was = row.getAttribute("data-status"), box = row.querySelector(".media-status");
          row.setAttribute("data-status", a.status);
          box.querySelector(".label").textContent = box.getAttribute("data-label-" + a.status) || a.status;
          box.querySelector(".pct").textContent = a.status === "transcoding" ? a.progress + "%" : "";
          var bar = box.querySelector(".progress");
          bar.hidden = a.status !== "transcoding";
          bar.firstElementChild.style.width = a.progress + "%";
          box.querySelector(".msg").textContent = a.error || "";
          if (root.id === "media-one" && was !== a.status && (a.status === "ready" || a.status === "failed")) window.location.reload();
        });
        setTimeout(poll, 3000);
      })
      .catch(function () { setTimeout(poll, 15000); });
  }
  setTimeout(poll, 2000);
})();
