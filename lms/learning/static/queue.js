/* Offline-safe heartbeat queue. Every heartbeat is written to localStorage first and removed
   only when the server has answered it, so a dropped link or a closed tab loses nothing.
   The server is idempotent per (client_id, seq): re-sending is always safe. */
(function () {
  'use strict';
  var KEY = 'xx.hbq';
  var meta = function (name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') : null;
  };
  var api = meta('progress-api');
  var csrf = meta('csrf-token');
  var user = meta('progress-user');
  var busy = false;
  var retryTimer = null;
  var listeners = [];
  // True from a send that failed for want of a network (or the browser saying it is offline)
  // until a send succeeds: the page's notice (#offline-note) says so and counts what waits.
  var offline = navigator.onLine === false;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(KEY)) || []; } catch (e) { return []; }
  }
  function save(q) {
    try { window.localStorage.setItem(KEY, JSON.stringify(q)); } catch (e) { /* storage full */ }
  }
  function same(a, b) { return a.body.client_id === b.body.client_id && a.body.seq === b.body.seq; }
  function remove(item) {
    save(load().filter(function (x) { return !same(x, item); }));
    announce();
  }
  function mine() {
    // On a shared terminal a queued heartbeat belongs to whoever was signed in when it was made.
    return load().filter(function (x) { return x.user === user; });
  }
  var holdUntil = 0;
  function retry(ms) {
    // Nothing is sent before then (the 15 s tick included): a server that said "Retry-After" is
    // not helped by a village of terminals asking again at once.
    holdUntil = Date.now() + ms;
    if (retryTimer) { window.clearTimeout(retryTimer); }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, ms);
  }
  var showing = false;
  function announce() {
    var note = document.getElementById('offline-note');
    if (!note) { return; }
    var n = mine().length;
    // Shown while offline; once back, it stays until what waited has been sent.
    if (offline) { showing = true; } else if (!n) { showing = false; }
    note.hidden = !showing;
    var count = document.getElementById('offline-count');
    if (count) {
      count.textContent = n ? (n === 1 ? note.dataset.one : note.dataset.many).replace('%s', n) : '';
    }
  }
  function flush() {
    if (busy || !api || !user || Date.now() < holdUntil) { return; }
    var items = mine();
    if (!items.length) {
      if (offline && navigator.onLine !== false) { offline = false; announce(); }
      return;
    }
    var item = items[0];
    busy = true;
    window.fetch(api, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify(item.body)
    }).then(function (r) {
      busy = false;
      if (offline) { offline = false; announce(); }
      if (r.ok) {
        remove(item);
        return r.json().then(function (data) {
          listeners.forEach(function (cb) { cb(item.body, data); });
          flush();
        });
      }
      if (r.status === 400 || r.status === 404) {
        // Refused for good (validation): keeping it would block the queue forever.
        remove(item);
        flush();
        return null;
      }
      // 503 while the database is away, 429, a proxy's 502: keep the heartbeat, send it again
      // after the server's Retry-After (seconds), else 10 s.
      var after = parseInt(r.headers.get('Retry-After'), 10);
      retry(after > 0 ? Math.min(after, 300) * 1000 : 10000);
      return null;
    }).catch(function () {
      busy = false;
      offline = true;
      announce();
      retry(5000);
    });
  }
  function push(body, quiet) {
    var q = load();
    q.push({ user: user, body: body });
    save(q);
    announce();
    if (!quiet) { flush(); }
  }
  function beacon() {
    // Page is going away: hand everything to the browser, but keep the copies; the next page
    // re-sends them and the server drops the duplicates.
    if (window.XXQueue.beforeLeave) { window.XXQueue.beforeLeave(); }
    if (!navigator.sendBeacon || !navigator.onLine || !api) { return; }
    mine().slice(0, 20).forEach(function (item) {
      var body = JSON.parse(JSON.stringify(item.body));
      body.csrf_token = csrf;
      navigator.sendBeacon(api, new Blob([JSON.stringify(body)], { type: 'application/json' }));
    });
  }
  window.addEventListener('online', flush);
  window.addEventListener('offline', function () { offline = true; announce(); });
  window.addEventListener('pagehide', beacon);
  window.setInterval(flush, 15000);
  window.XXQueue = {
    push: push,
    flush: flush,
    pending: function () { return mine().length; },
    offline: function () { return offline; },
    onResult: function (cb) { listeners.push(cb); },
    beforeLeave: null
  };
  announce();
  flush();
}());
