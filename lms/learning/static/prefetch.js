/* The home and catalogue pages fetch the lesson player's script (hls.js, 120 KB) while the link is
   idle, so a terminal's first lesson does not wait for it. Once fetched (immutable, cached for a
   year) the device remembers it, and the lesson page asks for it as soon as play is pressed. */
(function () {
  'use strict';
  var me = document.currentScript;
  var src = me && me.getAttribute('data-src');
  var FLAG = 'xx.hls';  // the player script's URL last fetched on this device
  if (!src || !window.localStorage) { return; }
  try { if (window.localStorage.getItem(FLAG) === src) { return; } } catch (e) { return; }
  var conn = navigator.connection;
  if (conn && conn.saveData) { return; }
  function go() {
    var link = document.createElement('link');
    link.rel = 'prefetch';
    link.as = 'script';
    link.href = src;
    link.onload = function () {
      try { window.localStorage.setItem(FLAG, src); } catch (e) { /* private mode */ }
    };
    document.head.appendChild(link);
  }
  var idle = window.requestIdleCallback || function (f) { window.setTimeout(f, 1000); };
  if (document.readyState === 'complete') { idle(go); } else { window.addEventListener('load', function () { idle(go); }); }
}());
