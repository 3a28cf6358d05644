// Parley dashboard: the few live parts. Everything works without it (pages reload).
"use strict";

// Round progress: poll the JSON endpoint named by data-progress-url and update the counts.
function pollProgress(box) {
  const url = box.dataset.progressUrl;
  const every = Number(box.dataset.every || 2000);
  async function tick() {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (res.ok) {
        const data = await res.json();
        for (const el of box.querySelectorAll("[data-count]")) {
          // "sent" or a dotted path such as "by_channel.sms.sent"
          const value = el.dataset.count.split(".").reduce((o, k) => (o == null ? undefined : o[k]), data);
          if (value !== undefined && String(value) !== el.textContent) { el.textContent = String(value); }
        }
        const status = box.querySelector("[data-round-status]");
        if (status && data.status) { status.textContent = data.status; }
        const stamp = box.querySelector("[data-updated]");
        if (stamp) { stamp.textContent = new Date().toLocaleTimeString(); }
      }
    } catch (e) { /* try again next tick */ }
    window.setTimeout(tick, every);
  }
  tick();
}

// Simulator: live SMS segment count for what is being typed.
function liveSegments(input) {
  const out = document.getElementById(input.dataset.countTarget);
  const url = input.dataset.measureUrl;
  let timer = 0;
  async function measure() {
    if (!input.value) { out.textContent = ""; return; }
    try {
      const res = await fetch(url + "?text=" + encodeURIComponent(input.value), { credentials: "same-origin" });
      if (res.ok) {
        const d = await res.json();
        out.textContent = d.characters + " characters · " + d.encoding + " · " + d.segments +
          (d.segments === 1 ? " segment" : " segments");
      }
    } catch (e) { /* ignore */ }
  }
  input.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(measure, 150); });
  measure();
}

// Keep the newest simulator message in view.
function scrollToEnd(screen) { screen.scrollTop = screen.scrollHeight; }

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
  document.querySelectorAll("[data-measure-url]").forEach(liveSegments);
  document.querySelectorAll(".screen").forEach(scrollToEnd);
  document.querySelectorAll("[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => { if (!window.confirm(form.dataset.confirm)) { ev.preventDefault(); } });
  });
});
