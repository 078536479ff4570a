// Hotline console: the dynamic field chain on the review form, keyboard shortcuts,
// click-to-seek on transcript segments. No build step; plain ES2020.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);

  // --- the field chain (mirrors triage/field_chain.py; the server checks again on submit) ---
  function holds(cond, fields, faultText) {
    if (cond.all) return cond.all.every((c) => holds(c, fields, faultText));
    if (cond.fault_mentions) {
      const low = faultText.toLowerCase();
      return cond.fault_mentions.some((w) => low.includes(String(w).toLowerCase()));
    }
    if (cond.kb_ids) return cond.kb_ids.includes(fields.kb_id);
    const value = fields[cond.field || ""];
    if ("equals" in cond) return value === cond.equals;
    if ("in" in cond) return cond.in.includes(value);
    if (cond.present) return value !== null && value !== undefined && value !== "";
    return false;
  }

  function chosenKb(form) {
    const radio = $('input[name="kb_choice"]:checked', form);
    if (!radio) return null;
    if (radio.value === "__none__") return null;
    if (radio.value === "__other__") return ($("#kb_other", form).value || "").trim() || null;
    return radio.value;
  }

  function setupChain(form) {
    const rules = JSON.parse($("#chain-rules").textContent);
    const kbTexts = JSON.parse($("#kb-texts").textContent);
    const baseText = $("#fault-text").value || "";
    const update = () => {
      const fields = {};
      $$("[data-field]", form).forEach((label) => {
        const input = $("input, select", label);
        fields[label.dataset.field] = input.value.trim() || null;
      });
      const kb = chosenKb(form);
      fields.kb_id = kb;
      const faultText = baseText + " " + (kb && kbTexts[kb] ? kbTexts[kb] : "");
      const required = new Set();
      rules.forEach((rule) => {
        if (holds(rule.when, fields, faultText)) rule.require.forEach((n) => required.add(n));
      });
      $$("[data-field]", form).forEach((label) => {
        const name = label.dataset.field;
        const input = $("input, select", label);
        const need = required.has(name);
        input.required = need;
        $(".req", label).hidden = !need;
        label.classList.toggle("required", need);
        const na = $(".na-toggle", label);
        const released = na && na.checked && ($(".na-reason", label).value || "").trim();
        label.classList.toggle("missing", need && !input.value.trim() && !released);
        if (label.classList.contains("chain")) label.hidden = !need && !input.value.trim();
      });
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", (ev) => {
      update();
      const missing = $$("label.missing:not([hidden])", form).map((l) => $(".lbl", l).firstChild.textContent.trim());
      if (missing.length) {
        ev.preventDefault();
        if (!$("#client-error")) {
          form.insertAdjacentHTML("afterbegin", '<p class="error" role="alert" id="client-error"></p>');
        }
        $("#client-error").textContent = "以下字段为必填：" + missing.join("、");
        const first = $("label.missing:not([hidden]) input, label.missing:not([hidden]) select", form);
        if (first) first.focus();
      }
    });
    $("#kb_other", form).addEventListener("input", () => { $("#kb-other-radio").checked = true; });
    update();
  }

  // --- "客户无法提供": a required field is released with a reason ---
  function setupUnavailable() {
    $$(".na-toggle").forEach((box) => {
      const reason = $(".na-reason", box.closest(".na"));
      box.addEventListener("change", () => {
        reason.hidden = !box.checked;
        if (box.checked) reason.focus(); else reason.value = "";
      });
    });
  }

  // --- SLA countdowns: "剩 1:23:45" / "超时 0:05:00", every second ---
  function setupCountdowns() {
    const els = $$(".countdown[data-deadline]");
    if (!els.length) return;
    const fmt = (ms) => {
      const s = Math.floor(Math.abs(ms) / 1000);
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
      return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(r).padStart(2, "0");
    };
    const tick = () => {
      const now = Date.now();
      $$(".countdown[data-deadline]").forEach((el) => {
        const left = Date.parse(el.dataset.deadline) - now;
        if (el.dataset.label === undefined) el.dataset.label = el.textContent.trim();
        const what = el.dataset.label ? el.dataset.label + " " : "";
        el.textContent = left >= 0 ? what + "剩 " + fmt(left) : what + "超时 " + fmt(left);
        el.classList.toggle("late", left < 0);
      });
    };
    tick();
    setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", tick);
  }

  // --- saved views on the ticket list: kept in this browser ---
  function setupSavedViews() {
    const holder = $("#saved-views");
    if (!holder) return;
    const KEY = "hotline.savedViews";
    const load = () => { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } };
    const draw = () => {
      holder.innerHTML = "";
      load().forEach((v, i) => {
        const span = document.createElement("span");
        span.className = "saved";
        const a = document.createElement("a");
        a.href = v.url; a.textContent = v.name;
        if (location.pathname + location.search === v.url) a.className = "on";
        const x = document.createElement("button");
        x.type = "button"; x.textContent = "×"; x.title = "删除此视图";
        x.addEventListener("click", () => { const all = load(); all.splice(i, 1); localStorage.setItem(KEY, JSON.stringify(all)); draw(); });
        span.append(a, x);
        holder.append(span);
      });
    };
    const form = $("#ticket-search");
    // Empty filters stay out of the address (shorter links to share and save).
    if (form) form.addEventListener("submit", () => {
      $$("input, select", form).forEach((el) => { if (!el.value || (el.type === "checkbox" && !el.checked)) el.disabled = true; });
    });
    const save = $("#save-view");
    if (save) save.addEventListener("click", () => {
      const name = (window.prompt("给这个筛选起个名字：", "") || "").trim();
      if (!name) return;
      const url = location.pathname + location.search.replace(/[?&]after=[^&]*/, "");
      localStorage.setItem(KEY, JSON.stringify([...load(), { name, url }]));
      draw();
    });
    draw();
  }

  // --- bulk confirm: pick every passing row of the page ---
  function setupBulk() {
    // The queue's refresh would redraw the rows and drop what the agent picked; it waits while
    // a row is picked, and one already on its way when the agent picks is not drawn. (Not an
    // hx-trigger filter: htmx evaluates those, which the CSP forbids.)
    const picked = () => $("#bulk-form input[name=ids]:checked");
    document.body.addEventListener("htmx:beforeRequest", (e) => {
      if (e.detail.elt.id === "queue" && picked()) e.preventDefault();
    });
    document.body.addEventListener("htmx:beforeSwap", (e) => {
      if (e.detail.elt.id === "queue" && picked()) e.detail.shouldSwap = false;
    });
    document.body.addEventListener("change", (e) => {
      if (e.target && e.target.id === "check-all-passing") {
        $$(".bulk-pick").forEach((b) => { b.checked = e.target.checked; });
      }
    });
  }

  // --- audio: click a segment to play from there ---
  function setupAudio() {
    const audio = $("#call-audio");
    $$(".seg[data-start]").forEach((seg) => {
      const seek = () => {
        if (!audio) return;
        audio.currentTime = parseFloat(seg.dataset.start);
        audio.play().catch(() => {});
      };
      seg.addEventListener("click", seek);
      seg.addEventListener("keydown", (e) => { if (e.key === "Enter") seek(); });
    });
    if (audio) {
      audio.addEventListener("timeupdate", () => {
        let current = null;
        $$(".seg[data-start]").forEach((s) => { if (parseFloat(s.dataset.start) <= audio.currentTime) current = s; });
        $$(".seg.playing").forEach((s) => s !== current && s.classList.remove("playing"));
        if (current) current.classList.add("playing");
      });
    }
  }

  // --- keyboard shortcuts ---
  function setupKeys() {
    document.addEventListener("keydown", (e) => {
      const form = $("#review-form");
      if (form && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
        return;
      }
      if (typing(document.activeElement) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (form) {
        const radio = $(`input[name="kb_choice"][data-key="${e.key}"]`, form);
        if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); return; }
        if (e.key === " ") {
          const audio = $("#call-audio");
          if (audio) { e.preventDefault(); audio.paused ? audio.play().catch(() => {}) : audio.pause(); }
          return;
        }
        const link = e.key === "j" ? $("#next-ticket") : e.key === "k" ? $("#prev-ticket") : null;
        if (link) { window.location = link.href; }
        return;
      }
      const table = $("table[data-keynav]");
      if (!table) return;
      const rows = $$("tbody tr[data-href]", table);
      if (!rows.length) return;
      let i = rows.findIndex((r) => r.classList.contains("cursor"));
      if (e.key === "j" || e.key === "k") {
        rows.forEach((r) => r.classList.remove("cursor"));
        i = e.key === "j" ? Math.min(i + 1, rows.length - 1) : Math.max(i - 1, 0);
        rows[i].classList.add("cursor");
        rows[i].scrollIntoView({ block: "nearest" });
      } else if (e.key === "Enter" || e.key === "o") {
        window.location = rows[Math.max(i, 0)].dataset.href;
      }
    });
  }

  // --- a refused htmx form (e.g. an empty or over-long "try a query"): htmx swaps nothing on a
  // 4xx, so the user saw no answer at all; show the error page's Chinese message instead ---
  function setupFormErrors() {
    document.body.addEventListener("htmx:beforeSwap", (e) => {
      const status = e.detail.xhr.status;
      // Only what the user sent (a POST); the boards' polling GETs keep htmx's default.
      const verb = ((e.detail.requestConfig || {}).verb || "get").toLowerCase();
      if (status < 400 || status >= 500 || status === 401 || verb === "get") return;
      const page = new DOMParser().parseFromString(e.detail.xhr.responseText || "", "text/html");
      const said = page.querySelector(".errorpage .error, .error");
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = (said && said.textContent.trim()) || "操作未完成（" + status + "），请检查输入后重试。";
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      e.detail.serverResponse = p.outerHTML;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupFormErrors();
    const form = $("#review-form");
    if (form) setupChain(form);
    setupAudio();
    setupKeys();
    setupUnavailable();
    setupCountdowns();
    setupSavedViews();
    setupBulk();
    $$("tr[data-href]").forEach((r) => r.addEventListener("dblclick", () => { window.location = r.dataset.href; }));
  });
})();
