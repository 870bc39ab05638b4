// Classroom enhancements. Everything works without this file; it only makes things live.
// 1. The instructor dashboard's table and chart follow the server through server-sent events.
// 2. The X-ray's countdowns tick.
(() => {
  const live = document.querySelector("[data-live-source]");
  if (live && "EventSource" in window) {
    const source = new EventSource(live.getAttribute("data-live-source"));
    source.addEventListener("live", (event) => {
      // Server-rendered, escaped HTML (views/partials/instructor-live.ejs). Skip while a button has focus
      // so a keyboard user is not thrown out of the table.
      if (live.contains(document.activeElement) && document.activeElement !== live) return;
      live.innerHTML = JSON.parse(event.data).html;
      live.setAttribute("data-updated", String(Date.now()));
    });
  }
  const xray = document.querySelector("[data-server-now]");
  if (xray) {
    const serverNow = Number(xray.getAttribute("data-server-now"));
    const loaded = Date.now();
    const fmt = (ms) => {
      const d = Math.round(ms / 1000);
      if (d <= 0) return "passed";
      if (d < 60) return `in ${d} s`;
      if (d < 3600) return `in ${Math.floor(d / 60)} min ${d % 60} s`;
      if (d < 86400) return `in ${Math.floor(d / 3600)} h ${Math.floor((d % 3600) / 60)} min`;
      return `in ${Math.floor(d / 86400)} d ${Math.floor((d % 86400) / 3600)} h`;
    };
    const tick = () => {
      const now = serverNow + (Date.now() - loaded);
      for (const el of xray.querySelectorAll("[data-deadline]")) {
        const text = el.textContent.replace(/(passed|in [^u]*?)( unless| whatever)/, `${fmt(Number(el.getAttribute("data-deadline")) - now)}$2`);
        if (text !== el.textContent) el.textContent = text;
      }
    };
    setInterval(tick, 1000);
  }
})();
