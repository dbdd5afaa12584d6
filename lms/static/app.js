/* Idle sign-out warning for learners on shared terminals; everything else works without JS. */
(function () {
  var body = document.body, url = body.getAttribute("data-idle-check");
  if (!url || !window.fetch) return;
  var warning = document.getElementById("idle-warning"), timer = null;
  function check() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) {
      if (r.status === 401) { window.location.reload(); return null; }
      return r.json();
    }).then(function (data) {
      if (!data) return;
      var left = data.idle_seconds_left;
      warning.hidden = left > 60;
      clearTimeout(timer);
      timer = setTimeout(check, Math.max(5, Math.min(left - 55, 60)) * 1000);
    }).catch(function () { timer = setTimeout(check, 30000); });
  }
  function activity() {
    if (!warning.hidden) { warning.hidden = true; fetch(url.replace("/session", "/session/touch"), {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrf()}}).then(check); }
  }
  function csrf() { var m = document.querySelector("meta[name=csrf-token]"); return m ? m.content : ""; }
  ["pointerdown", "keydown"].forEach(function (e) { document.addEventListener(e, activity, {passive: true}); });
  check();
})();
