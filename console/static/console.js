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
        label.classList.toggle("missing", need && !input.value.trim());
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

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("#review-form");
    if (form) setupChain(form);
    setupAudio();
    setupKeys();
    $$("tr[data-href]").forEach((r) => r.addEventListener("dblclick", () => { window.location = r.dataset.href; }));
  });
})();
