/* Resumable chunked upload (protocol in media/views.py). Each chunk carries its SHA-256; after a
 * dropped link the uploader asks the server how much it holds and continues from there, and after
 * a reload choosing the same file resumes the same upload (remembered in localStorage).
 * On a slow uplink the page keeps moving: each chunk is sent with XHR so its bytes count as they
 * leave, the chunk size follows the measured speed (about TARGET_SECONDS a chunk), the time left
 * is estimated, and a dropped link shows its countdown and, once back, where it continues. */
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FileReader) return;
  var input = form.querySelector("input[type=file]"), title = form.querySelector("input[name=title]");
  var bar = document.getElementById("upload-progress"), status = document.getElementById("upload-status");
  var link = document.getElementById("upload-link");
  var api = form.getAttribute("data-api"), chunk = +form.getAttribute("data-chunk"), max = +form.getAttribute("data-max");
  var chunkMax = +form.getAttribute("data-chunk-max") || chunk;
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var button = form.querySelector("button[type=submit]"), waitMs = 1000;
  var detail = document.getElementById("upload-detail");
  // 10 s a chunk: little is resent after a drop, and the per-request cost stays small. 256 KB at the
  // least (a 2G uplink sends it in about 10 s); 64 KB steps.
  var TARGET_SECONDS = 10, CHUNK_MIN = 256 * 1024, STEP = 64 * 1024, STALL_MS = 60000;
  var speed = 0, attempts = 0, dropped = false;  // bytes per second, smoothed over the chunks sent
  var notice = "";  // "the connection is back…", shown beside the percentage until that chunk is in

  function say(text) { status.textContent = text; }
  function msg(name, values) {
    var text = form.getAttribute("data-msg-" + name) || "";
    for (var k in values || {}) text = text.split("{" + k + "}").join(values[k]);
    return text;
  }
  function key(f) { return "xiangxue-upload:" + f.name + ":" + f.size + ":" + f.lastModified; }
  function pctOf(done, total) { return (total ? Math.floor(100 * done / total) : 100) + "%"; }
  function mb(bytes) { return (bytes / 1048576).toFixed(1); }
  function duration(seconds) {
    seconds = Math.max(1, Math.round(seconds));
    return seconds < 60 ? msg("seconds", {s: seconds}) : msg("minutes", {m: Math.floor(seconds / 60), s: seconds % 60});
  }
  function progress(done, total) {
    bar.hidden = false;
    var pct = pctOf(done, total);
    bar.firstElementChild.style.width = pct;
    say(notice ? notice + " " + pct : pct);
    if (!detail) return;
    var text = msg("progress", {pct: pct, done: mb(done), total: mb(total), speed: speed ? Math.round(speed / 1024) : "…"});
    if (speed && total > done) text += " · " + msg("left", {time: duration((total - done) / speed)});
    detail.textContent = text;
  }
  function measured(bytes, ms) {
    if (ms < 50) return;  // too short to say anything about the link
    var sample = bytes * 1000 / ms;
    speed = speed ? 0.6 * speed + 0.4 * sample : sample;
    var next = Math.round(speed * TARGET_SECONDS / STEP) * STEP;
    chunk = Math.max(CHUNK_MIN, Math.min(chunkMax, next));
  }
  // One chunk by XHR: fetch cannot report upload progress. A chunk with no progress for a minute is
  // given up (the link is dead, not slow) and resumed like any dropped link.
  function put(url, body, headers, onSent) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest(), timer;
      function stalled() { clearTimeout(timer); timer = setTimeout(function () { xhr.abort(); }, STALL_MS); }
      xhr.open("PUT", url);
      xhr.withCredentials = true;
      for (var h in headers) xhr.setRequestHeader(h, headers[h]);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      if (xhr.upload) xhr.upload.onprogress = function (e) { stalled(); if (e.lengthComputable) onSent(e.loaded); };
      xhr.onload = function () {
        clearTimeout(timer);
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
        resolve({status: xhr.status, data: data});
      };
      xhr.onerror = xhr.onabort = function () { clearTimeout(timer); reject(new Error("network")); };
      stalled();
      xhr.send(body);
    });
  }
  function json(method, url, body, headers) {
    headers = headers || {};
    headers["Accept"] = "application/json";
    headers["X-CSRFToken"] = csrf;
    return fetch(url, {method: method, credentials: "same-origin", headers: headers, body: body})
      .then(function (r) { return r.json().then(function (d) { return {status: r.status, data: d}; }, function () { return {status: r.status, data: {}}; }); });
  }
  function read(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = reject;
      reader.readAsArrayBuffer(blob);
    });
  }
  function digest(buf) {
    if (window.crypto && crypto.subtle && window.isSecureContext) {
      return crypto.subtle.digest("SHA-256", buf).then(hex);
    }
    return Promise.resolve(sha256(new Uint8Array(buf)));
  }
  function hex(buf) {
    return Array.prototype.map.call(new Uint8Array(buf), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  // SHA-256 for plain-HTTP sites, where crypto.subtle does not exist.
  function sha256(bytes) {
    var K = [], H = [1779033703, 3144134277, 1013904242, 2773480762, 1359893119, 2600822924, 528734635, 1541459225];
    var n = 2, found = 0;
    while (found < 64) {
      var prime = true;
      for (var d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) { K[found++] = (Math.pow(n, 1 / 3) * 4294967296) | 0; }
      n++;
    }
    var len = bytes.length, total = ((len + 9 + 63) >> 6) << 6, m = new Uint8Array(total);
    m.set(bytes); m[len] = 0x80;
    var bits = len * 8, view = new DataView(m.buffer);
    view.setUint32(total - 4, bits >>> 0); view.setUint32(total - 8, Math.floor(bits / 4294967296));
    var w = new Array(64);
    for (var off = 0; off < total; off += 64) {
      for (var i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (i = 16; i < 64; i++) {
        var a0 = w[i - 15], a1 = w[i - 2];
        var s0 = ((a0 >>> 7) | (a0 << 25)) ^ ((a0 >>> 18) | (a0 << 14)) ^ (a0 >>> 3);
        var s1 = ((a1 >>> 17) | (a1 << 15)) ^ ((a1 >>> 19) | (a1 << 13)) ^ (a1 >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var a = H[0], b = H[1], c = H[2], dd = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (dd + t1) | 0; dd = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + dd) | 0;
      H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
    return H.map(function (x) { return ("0000000" + (x >>> 0).toString(16)).slice(-8); }).join("");
  }

  function finished(file, up, data) {
    localStorage.removeItem(key(file));
    progress(file.size, file.size);
    say(data && data.status === "failed" ? (data.error || msg("failed")) : msg("done"));
    link.hidden = false;
    link.firstElementChild.href = up.page;
    button.disabled = false;
  }
  function resumeLater(file, up, offset) {
    attempts += 1;
    dropped = true;
    var left = Math.round(waitMs / 1000), pct = pctOf(offset || 0, file.size);
    function tell() {
      say(msg("offline") + " " + msg("retry", {s: left, n: attempts, pct: pct}));
    }
    tell();
    var tick = setInterval(function () { left = Math.max(0, left - 1); tell(); }, 1000);
    setTimeout(function () {
      clearInterval(tick);
      json("GET", up.url).then(function (r) {
        if (r.status === 200 && r.data.status === "uploading") { waitMs = 1000; send(file, up, r.data.offset); }
        else if (r.status === 200) finished(file, up, r.data);
        else say(r.data.message || msg("failed"));
      }, function () { resumeLater(file, up, offset); });
    }, waitMs);
    waitMs = Math.min(waitMs * 2, 30000);
  }
  function send(file, up, offset) {
    if (offset >= file.size && file.size > 0) { json("GET", up.url).then(function (r) { finished(file, up, r.data); }); return; }
    progress(offset, file.size);
    if (dropped) { dropped = false; attempts = 0; notice = msg("back", {pct: pctOf(offset, file.size)}); say(notice); }
    var piece, started;
    read(file.slice(offset, Math.min(file.size, offset + chunk)))
      .then(function (buf) { piece = buf; return digest(buf); })
      .then(function (sum) {
        started = Date.now();
        return put(up.url, piece, {"Content-Type": "application/octet-stream", "Upload-Offset": String(offset), "Chunk-SHA256": sum},
                   function (sent) { progress(offset + Math.min(sent, piece.byteLength), file.size); });
      })
      .then(function (r) {
        if (r.status === 200) {
          waitMs = 1000;
          notice = "";
          measured(piece.byteLength, Date.now() - started);
          if (r.data.status !== "uploading") finished(file, up, r.data);
          else send(file, up, r.data.offset);
        } else if ((r.status === 409 || r.status === 422) && r.data.offset !== undefined) {
          send(file, up, r.data.offset);  // resync with what the server holds
        } else if (r.status === 507 || (r.data && r.data.retry === false)) {
          // The server is out of space and has removed the partial file: retrying cannot help.
          localStorage.removeItem(key(file));
          say(r.data.message || msg("failed")); button.disabled = false;
        } else if (r.status === 413 && chunk > CHUNK_MIN) {
          chunk = CHUNK_MIN;  // a proxy with a smaller body limit: smaller pieces get through
          send(file, up, offset);
        } else if (r.status >= 500 || r.status === 0) {
          resumeLater(file, up, offset);
        } else {
          say(r.data.message || msg("failed")); button.disabled = false;
        }
      }, function () { resumeLater(file, up, offset); });
  }
  function create(file) {
    json("POST", api, JSON.stringify({title: title.value, filename: file.name, size: file.size}), {"Content-Type": "application/json"})
      .then(function (r) {
        if (r.status !== 201) { say(r.data.message || msg("failed")); button.disabled = false; return; }
        var up = {url: r.data.url, page: r.data.page};
        localStorage.setItem(key(file), JSON.stringify(up));
        if (r.data.status !== "uploading") finished(file, up, r.data); else send(file, up, 0);
      }, function () { say(msg("offline")); button.disabled = false; });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files[0];
    if (!file) return;
    if (file.size > max) { say(msg("too-large")); return; }
    button.disabled = true;
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key(file)) || "null"); } catch (e) { saved = null; }
    if (!saved) { create(file); return; }
    json("GET", saved.url).then(function (r) {
      if (r.status === 200 && r.data.status === "uploading") { say(msg("resumed")); send(file, saved, r.data.offset); }
      else { localStorage.removeItem(key(file)); create(file); }
    }, function () { resumeLater(file, saved, 0); });
  });
})();
