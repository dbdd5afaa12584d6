/* Lesson player: hls.js when MSE exists, native HLS otherwise, progressive MP4 last.
   Reports only the intervals actually played (seeks and replays add nothing) through the
   offline-safe queue in queue.js. */
(function () {
  'use strict';
  var media = document.getElementById('player');
  if (!media || !window.XXQueue) { return; }
  var d = media.dataset;
  var lesson = parseInt(d.lesson, 10);
  var QKEY = 'xx.quality';
  var HEARTBEAT_MS = 15000;
  var store = window.localStorage;

  function deviceId() {
    var id = null;
    try { id = store.getItem('xx.device'); } catch (e) { id = null; }
    if (!id) {
      id = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
      try { store.setItem('xx.device', id); } catch (e) { /* private mode */ }
    }
    return id;
  }
  // One client id per page load, so two tabs never reuse each other's sequence numbers.
  var clientId = deviceId() + '-' + Math.random().toString(36).slice(2, 8);
  var seq = 0;

  var pending = [];        // closed intervals not yet sent
  var segStart = null;     // open interval start (media seconds)
  var lastT = null;        // last media time seen while playing
  var lastWall = null;     // wall clock at lastT

  function closeSegment() {
    if (segStart !== null && lastT !== null && lastT > segStart) {
      pending.push([Math.round(segStart * 100) / 100, Math.round(lastT * 100) / 100]);
    }
    segStart = null;
    lastT = null;
  }
  function track() {
    if (media.paused || media.seeking) { return; }
    var t = media.currentTime;
    var now = Date.now();
    if (segStart === null) {
      segStart = t; lastT = t; lastWall = now;
      return;
    }
    var dm = t - lastT;
    var dw = (now - lastWall) / 1000;
    // Normal playback advances media time about as fast as the wall clock; anything else
    // (a seek the browser did not announce, a jump after a stall) starts a new interval.
    if (dm >= 0 && dm <= dw * 1.1 * (media.playbackRate || 1) + 0.5) {
      lastT = t;
    } else {
      closeSegment();
      segStart = t; lastT = t;
    }
    lastWall = now;
  }
  function heartbeat(quiet) {
    track();
    var open = segStart !== null && lastT !== null && lastT > segStart;
    if (open) {
      pending.push([Math.round(segStart * 100) / 100, Math.round(lastT * 100) / 100]);
      segStart = lastT;
    }
    var pos = Math.round((media.currentTime || 0) * 100) / 100;
    if (!pending.length && pos === lastSentPos) { return; }
    seq += 1;
    window.XXQueue.push({
      lesson: lesson, intervals: pending, position: pos, client_id: clientId, seq: seq
    }, quiet);
    lastSentPos = pos;
    pending = [];
  }
  var lastSentPos = null;

  media.addEventListener('timeupdate', track);
  media.addEventListener('playing', function () { lastWall = Date.now(); track(); });
  media.addEventListener('seeking', closeSegment);
  media.addEventListener('pause', function () { heartbeat(false); closeSegment(); });
  media.addEventListener('ended', function () { heartbeat(false); closeSegment(); });
  window.setInterval(function () { if (!media.paused) { heartbeat(false); } }, HEARTBEAT_MS);
  window.XXQueue.beforeLeave = function () { heartbeat(true); closeSegment(); };

  var status = document.getElementById('progress-status');
  window.XXQueue.onResult(function (body, data) {
    if (body.lesson !== lesson || !status) { return; }
    status.textContent = status.dataset.label.replace('%s', Math.round(data.coverage * 100));
    if (data.completed) {
      var done = document.getElementById('lesson-done');
      if (done) { done.hidden = false; }
    }
  });

  // ---- sources and quality ----
  var hls = null;
  var resumeAt = parseFloat(d.resume || '0');
  var select = document.getElementById('quality');
  function quality() {
    var q = null;
    try { q = store.getItem(QKEY); } catch (e) { q = null; }
    return q || d.defaultQuality || 'auto';
  }
  function mseOk() {
    var MS = window.MediaSource || window.WebKitMediaSource;
    return !!(MS && MS.isTypeSupported && MS.isTypeSupported('video/mp4; codecs="avc1.4d401e,mp4a.40.2"'));
  }
  var HLS_FLAG = 'xx.hls';  // the player script's URL last fetched on this device (prefetch.js too)
  function hlsCached() {
    try { return store.getItem(HLS_FLAG) === d.hlsSrc; } catch (e) { return false; }
  }
  function loadScript(src, cb) {
    if (window.Hls) { cb(); return; }
    var s = document.createElement('script');
    s.src = src;
    s.onload = function () {
      try { store.setItem(HLS_FLAG, src); } catch (e) { /* private mode */ }
      cb();
    };
    s.onerror = function () { cb(); };
    document.head.appendChild(s);
  }
  function pickLevel(levels, q) {
    var want = { '144p': 144, '240p': 240, '360p': 360 }[q];
    if (!want) { return -1; }
    var best = 0;
    for (var i = 0; i < levels.length; i += 1) {
      var h = Math.min(levels[i].height || 0, levels[i].width || 0) || levels[i].height || 0;
      if (h <= want) { best = i; }
    }
    return best;
  }
  function start(at) {
    var q = quality();
    var listen = q === 'listen' && d.audio;
    var url = listen ? d.audio : d.master;
    if (hls) { hls.destroy(); hls = null; }
    media.addEventListener('loadedmetadata', function once() {
      media.removeEventListener('loadedmetadata', once);
      if (at > 0 && at < (media.duration || Infinity) - 3) { media.currentTime = at; }
    });
    if (url && /\.m3u8(\?|$)/.test(url) && mseOk() && d.hlsSrc && !window.Hls && !hlsCached()
        && q === 'auto' && d.mp4) {
      // First visit, player script not fetched yet: at 400 kbps its 120 KB would cost ~2.5 s
      // before the first video byte. Play the progressive 240p MP4 (the page's <source>) now and
      // fetch the script once the picture moves; a quality change switches to HLS later.
      if (!media.querySelector('source') && media.getAttribute('src') !== d.mp4) { media.src = d.mp4; }
      media.addEventListener('playing', function () { loadScript(d.hlsSrc, function () {}); }, { once: true });
      return;
    }
    if (url && /\.m3u8(\?|$)/.test(url) && mseOk() && d.hlsSrc) {
      // hls.js (120 KB) runs only when the learner presses play (cached here: the home and
      // catalogue prefetch it; the page preloads the first playlists); a play() issued before it
      // arrives simply waits for the source.
      var sources = media.querySelectorAll('source');
      for (var i = 0; i < sources.length; i += 1) { sources[i].parentNode.removeChild(sources[i]); }
      media.removeAttribute('src');
      media.load();
      var attach = function () {
        loadScript(d.hlsSrc, function () {
          if (!window.Hls || !window.Hls.isSupported()) { native(url); return; }
          // Start at the lowest rung: the first frame comes fastest; ABR climbs from there.
          // startPosition: the first segment fetched is the one the learner resumes in.
          hls = new window.Hls({ startLevel: 0, capLevelToPlayerSize: q === 'auto', maxBufferLength: 30,
            startPosition: at > 0 ? at : -1 });
          hls.on(window.Hls.Events.MANIFEST_PARSED, function (ev, data) {
            if (!listen) {
              var lvl = pickLevel(data.levels, q);
              if (lvl >= 0) { hls.currentLevel = lvl; }
            }
          });
          hls.on(window.Hls.Events.ERROR, function (ev, data) {
            if (data.fatal) { hls.destroy(); hls = null; media.src = d.mp4; media.play(); }
          });
          hls.loadSource(url);
          hls.attachMedia(media);
        });
      };
      if (window.Hls || !media.paused) { attach(); } else { media.addEventListener('play', attach, { once: true }); }
      return;
    }
    native(url);
  }
  function native(url) {
    if (url && /\.m3u8(\?|$)/.test(url) && media.canPlayType('application/vnd.apple.mpegurl')) {
      media.src = url;
    } else {
      media.src = d.mp4 || url;
    }
  }
  if (select) {
    select.value = quality();
    select.addEventListener('change', function () {
      try { store.setItem(QKEY, select.value); } catch (e) { /* private mode */ }
      heartbeat(false);
      closeSegment();
      var wasPlaying = !media.paused;
      start(media.currentTime || 0);
      if (wasPlaying) { media.play(); }
    });
  }
  start(resumeAt);

  // A large ▶ in the middle of the picture: the native controls' button is small on a tablet.
  var big = document.getElementById('big-play');
  if (big) {
    var showBig = function () { big.hidden = !media.paused; };
    big.addEventListener('click', function () { media.play(); });
    media.addEventListener('play', showBig);
    media.addEventListener('playing', showBig);
    media.addEventListener('pause', showBig);
    showBig();
  }
}());
