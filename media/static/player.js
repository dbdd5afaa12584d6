/* Preview player: hls.js where MSE exists, native HLS otherwise, the 240p MP4 as a last resort. */
(function () {
  var el = document.getElementById("preview");
  if (!el) return;
  var master = el.getAttribute("data-master"), mp4 = el.getAttribute("data-mp4");
  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({capLevelToPlayerSize: true, startLevel: 0});
    hls.loadSource(master);
    hls.attachMedia(el);
    hls.on(window.Hls.Events.ERROR, function (_e, data) {
      if (data.fatal && mp4) { hls.destroy(); el.src = mp4; }
    });
  } else if (el.canPlayType("application/vnd.apple.mpegurl")) {
    el.src = master;
  } else if (mp4) {
    el.src = mp4;
  }
})();
