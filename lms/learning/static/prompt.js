/* Spoken quiz questions: HLS audio through hls.js (fetched on the first press of play). */
(function () {
  'use strict';
  var els = document.querySelectorAll('audio[data-hls]');
  Array.prototype.forEach.call(els, function (el) {
    if (el.canPlayType('application/vnd.apple.mpegurl')) { el.src = el.dataset.hls; return; }
    el.addEventListener('play', function () {
      var attach = function () {
        if (!window.Hls || !window.Hls.isSupported()) { return; }
        var hls = new window.Hls();
        hls.loadSource(el.dataset.hls);
        hls.attachMedia(el);
      };
      if (window.Hls) { attach(); return; }
      var s = document.createElement('script');
      s.src = el.dataset.hlsSrc;
      s.onload = attach;
      document.head.appendChild(s);
    }, { once: true });
  });
}());
