/**
 * The instructor's chart, drawn on the server as SVG: active sessions (line) and sessions removed
 * by the cleanup job (bars) over the last samples. No chart library and no script needed, so it
 * also updates on the no-JavaScript refresh. Only numbers go into the markup (it is included raw).
 */
import type { HistoryPoint } from "./classroom.ts";

const W = 640;
const H = 180;
const PAD = 28;

export function renderHistoryChart(history: readonly HistoryPoint[]): string {
  const points = history.slice(-120);
  const top = Math.max(4, ...points.map((p) => p.live + p.expired), ...points.map((p) => p.removed));
  const x = (i: number) => PAD + (points.length <= 1 ? 0 : (i * (W - 2 * PAD)) / (points.length - 1));
  const y = (v: number) => H - PAD - (v * (H - 2 * PAD)) / top;
  const n = (v: number) => v.toFixed(1);
  const barWidth = Math.max(2, (W - 2 * PAD) / Math.max(points.length, 1) - 2);
  const bars = points
    .map((p, i) =>
      p.removed > 0
        ? `<rect class="chart-removed" x="${n(x(i) - barWidth / 2)}" y="${n(y(p.removed))}" width="${n(barWidth)}" height="${n(H - PAD - y(p.removed))}"/>`
        : "",
    )
    .join("");
  const live = points.map((p, i) => `${n(x(i))},${n(y(p.live))}`).join(" ");
  const stored = points.map((p, i) => `${n(x(i))},${n(y(p.live + p.expired))}`).join(" ");
  const last = points.at(-1);
  const label = last
    ? `Last ${points.length} samples (every 2 s while the dashboard is open): now ${last.live} active and ${last.expired} expired sessions stored; ${points.reduce((s, p) => s + p.removed, 0)} removed by cleanup in this window.`
    : "No samples yet: the chart starts when the dashboard is first opened.";
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}">
<line class="chart-axis" x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}"/>
<text class="chart-text" x="${PAD}" y="${PAD - 10}">${top}</text><text class="chart-text" x="${PAD}" y="${H - 8}">0</text>
${bars}
${points.length > 1 ? `<polyline class="chart-stored" points="${stored}"/><polyline class="chart-live" points="${live}"/>` : ""}
<text class="chart-text" x="${W - PAD}" y="${H - 8}" text-anchor="end">now</text>
</svg>`;
}
