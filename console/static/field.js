// The technician app's action queue: every tap becomes {assignment_id, action_id, kind, data}
// stored in localStorage first, then sent; a send that gets no answer (offline, timeout, 5xx)
// stays queued and is resent with the same action_id, which the server does only once.
(function () {
  "use strict";
  var KEY = "hotline.field.queue";
  var body = document.body;
  var url = body.dataset.actions, csrf = body.dataset.csrf;
  var sending = false, delay = 2000;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(q) { localStorage.setItem(KEY, JSON.stringify(q)); show(q); }
  function show(q) {
    var el = document.getElementById("queue-state");
    if (el) { el.textContent = q.length ? "待发送 " + q.length + " 条" : "已同步"; }
  }
  function flash(text, kind) {
    var el = document.getElementById("flash");
    if (!el) { return; }
    el.hidden = false;
    el.className = "notice " + (kind || "");
    el.textContent = text;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID().replace(/-/g, ""); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function enqueue(assignment, kind, data) {
    var q = load();
    q.push({assignment_id: +assignment, action_id: newId(), kind: kind, data: data || {}});
    try { save(q); } catch (e) { flash("手机存储已满，请删减照片后重试", "err"); return; }
    flush();
  }

  function flush() {
    var q = load();
    show(q);
    if (sending || !q.length) { return; }
    sending = true;
    var item = q[0];
    fetch(url, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(item)
    }).then(function (resp) {
      if (resp.type === "opaqueredirect") { return {status: 0, json: null, login: true}; }
      return resp.json().catch(function () { return null; }).then(function (json) {
        return {status: resp.status, json: json};
      });
    }).then(function (r) {
      sending = false;
      if (r.login || (r.status < 300 && !r.json)) {
        // The login ran out: keep everything queued until the technician logs in again.
        flash("登录已过期：操作已保存，请重新登录后自动发送", "err");
        return;
      }
      if (r.status === 403 && !r.json) {
        // A stale page's CSRF token (logged in again elsewhere): a reload sends it.
        flash("页面已过期：操作已保存，请刷新页面", "err");
        return;
      }
      if (r.status >= 500 || r.status === 429 || (r.json && r.json.error &&
          r.json.error.code === "action_in_flight")) {
        return retry();
      }
      drop(item.action_id);
      delay = 2000;
      if (r.status >= 400) {
        var msg = r.json && r.json.error ? r.json.error.message : "操作失败（" + r.status + "）";
        flash(msg, "err");
        return flush();
      }
      done(item, r.json);
    }, function () {
      sending = false;
      retry();
    });
  }
  function retry() {
    flash("网络不稳定：操作已保存，恢复后自动发送", "");
    setTimeout(flush, delay);
    delay = Math.min(delay * 2, 60000);
  }
  function drop(actionId) {
    save(load().filter(function (x) { return x.action_id !== actionId; }));
  }
  function done(item, result) {
    if (load().length) { return flush(); }
    var ev = result && result.evidence;
    if (ev && ev.kind === "viewed" && !ev.accepted) {
      flash("已记录到达，但定位不在服务半径内：" + (ev.rejection_reason || ""), "err");
      setTimeout(function () { location.reload(); }, 2500);
      return;
    }
    if (item.kind === "decline") { location.href = url.replace(/\/actions$/, ""); return; }
    if (item.kind !== "call") { location.reload(); }
  }

  function job() { var el = document.getElementById("job"); return el && el.dataset.assignment; }

  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-kind]");
    if (!el || !job()) { return; }
    var kind = el.dataset.kind, data = {};
    if (kind === "call") { enqueue(job(), "call", {}); return; }  // the dialler opens as well
    e.preventDefault();
    if (kind === "decline") {
      var reason = window.prompt(el.dataset.ask || "原因");
      if (reason === null) { return; }
      data.reason = reason;
    } else if (kind === "on_way") {
      data.eta_minutes = parseInt(document.getElementById("eta").value, 10) || 30;
    } else if (kind === "pause") {
      data.reason = el.dataset.reason;
    } else if (kind === "arrive") {
      if (!navigator.geolocation) { flash("此设备无法定位", "err"); return; }
      flash("正在定位…", "");
      navigator.geolocation.getCurrentPosition(function (pos) {
        enqueue(job(), "arrive", {lat: pos.coords.latitude, lon: pos.coords.longitude,
                                  accuracy_m: pos.coords.accuracy});
      }, function (err) {
        flash("定位失败：" + err.message + "（请允许定位后重试）", "err");
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
      return;
    }
    enqueue(job(), kind, data);
  });

  // The customer's signature: finger or mouse on a canvas, sent as PNG.
  var pad = document.getElementById("signature"), signed = false;
  if (pad) {
    var ctx = pad.getContext("2d"), drawing = false;
    ctx.lineWidth = 4; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    var at = function (e) {
      var r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
    };
    pad.addEventListener("pointerdown", function (e) {
      drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
      pad.setPointerCapture(e.pointerId);
    });
    pad.addEventListener("pointermove", function (e) {
      if (!drawing) { return; }
      var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); signed = true;
    });
    pad.addEventListener("pointerup", function () { drawing = false; });
    document.getElementById("clear-signature").addEventListener("click", function () {
      ctx.clearRect(0, 0, pad.width, pad.height); signed = false;
    });
  }

  // Photos are shrunk to 1280 px JPEG before queueing (localStorage holds a few MB).
  function shrink(file) {
    return new Promise(function (ok, fail) {
      var img = new Image();
      img.onload = function () {
        var s = Math.min(1, 1280 / Math.max(img.width, img.height));
        var c = document.createElement("canvas");
        c.width = Math.round(img.width * s); c.height = Math.round(img.height * s);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(img.src);
        ok(c.toDataURL("image/jpeg", 0.7));
      };
      img.onerror = function () { fail(new Error("无法读取照片 " + file.name)); };
      img.src = URL.createObjectURL(file);
    });
  }

  var form = document.getElementById("resolve");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var files = Array.prototype.slice.call(form.photos.files || []);
      if (!files.length) { flash("请至少拍一张现场照片", "err"); return; }
      if (!signed) { flash("请客户在签字框内签字", "err"); return; }
      var parts = Array.prototype.slice.call(form.querySelectorAll("input[name=parts]:checked"))
        .map(function (x) { return +x.value; });
      Promise.all(files.slice(0, 6).map(shrink)).then(function (photos) {
        enqueue(job(), "resolve", {resolution: form.resolution.value, photos: photos,
                                   signature: pad.toDataURL("image/png"), parts_used: parts});
      }, function (err) { flash(err.message, "err"); });
    });
  }

  window.addEventListener("online", flush);
  setInterval(flush, 30000);
  flush();
})();
