/**
 * The bench's chart (bench/results/bench.svg, shown in docs/performance.md): per stack, the median
 * ratio to its no-session twin for browse and add, the quartiles as whiskers, the extra CPU µs.
 *
 *   node bench/lib/chart.ts [bench/results/bench.json]   redraws the chart of a saved run
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface Figure {
  ratioMedian: number;
  ratioSpread: { p25: number; p75: number; min: number; max: number };
  extraCpuUsPerRequest: number;
}
export interface ChartRow {
  label: string;
  browse: Figure;
  add: Figure;
}
export interface ChartSettings {
  slices: number;
  connections: number;
  processesPerStack: number;
  secondsPerRun: number;
}

export function chart(rows: ChartRow[], s: ChartSettings): string {
  const W = 860;
  const rowH = 46;
  const left = 330;
  const top = 66;
  const H = top + 22 + rows.length * rowH;
  const max = Math.max(1.1, ...rows.flatMap((r) => [r.browse.ratioSpread.max, r.add.ratioSpread.max]));
  const x = (v: number) => ((W - left - 190) * v) / max;
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const us = (n: number) => `${n < 0 ? "−" : "+"}${Math.abs(n)} µs`;
  const bar = (f: Figure, y: number, cls: string) =>
    `<rect x="${left}" y="${y}" width="${x(f.ratioMedian).toFixed(1)}" height="16" class="${cls}"/>` +
    `<line x1="${(left + x(f.ratioSpread.p25)).toFixed(1)}" x2="${(left + x(f.ratioSpread.p75)).toFixed(1)}" y1="${y + 8}" y2="${y + 8}" class="w"/>` +
    `<line x1="${(left + x(f.ratioSpread.p25)).toFixed(1)}" x2="${(left + x(f.ratioSpread.p25)).toFixed(1)}" y1="${y + 3}" y2="${y + 13}" class="w"/>` +
    `<line x1="${(left + x(f.ratioSpread.p75)).toFixed(1)}" x2="${(left + x(f.ratioSpread.p75)).toFixed(1)}" y1="${y + 3}" y2="${y + 13}" class="w"/>` +
    `<text x="${(left + Math.max(x(f.ratioMedian), x(f.ratioSpread.p75)) + 6).toFixed(1)}" y="${y + 13}" class="v">${f.ratioMedian.toFixed(2)} (${f.ratioSpread.p25.toFixed(2)}–${f.ratioSpread.p75.toFixed(2)}) ${us(f.extraCpuUsPerRequest)}</text>`;
  const bars = rows
    .map((r, i) => {
      const y = top + i * rowH;
      return `<text x="${left - 8}" y="${y + 18}" text-anchor="end" class="l">${esc(r.label)}</text>\n${bar(r.browse, y + 4, "b")}\n${bar(r.add, y + 22, "a")}`;
    })
    .join("\n");
  const one = left + x(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="13">
<style>.l{fill:#1d2320}.v{fill:#4f5a55;font-size:11px}.b{fill:#1f6f5c}.a{fill:#b4451f}.w{stroke:#1d2320;stroke-width:1.2}.g{stroke:#8a938f;stroke-dasharray:3 3}</style>
<rect width="${W}" height="${H}" fill="#fbfaf7"/>
<text x="12" y="20" font-weight="600" fill="#1d2320">Share of the no-session limit's throughput per core (median of ${s.slices} slices, quartile whiskers, extra CPU µs/request)</text>
<text x="12" y="36" class="v">limit CPU/request ÷ stack CPU/request, each stack loaded side by side with its own no-session twin; ${s.connections} connections each, ${s.processesPerStack} processes per stack, ${s.secondsPerRun} s slices</text>
<rect x="12" y="45" width="12" height="10" class="b"/><text x="28" y="54" class="v">browse (read)</text>
<rect x="112" y="45" width="12" height="10" class="a"/><text x="128" y="54" class="v">add (write)</text>
<line x1="${one.toFixed(1)}" x2="${one.toFixed(1)}" y1="${top - 4}" y2="${H - 8}" class="g"/>
${bars}
</svg>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.resolve(process.argv[2] ?? "bench/results/bench.json");
  const run = JSON.parse(fs.readFileSync(file, "utf8")) as {
    settings: { rounds: number; slicesPerRound: number; connections: number; processesPerStack: number; secondsPerRun: number };
    stacks: ChartRow[];
  };
  const { settings } = run;
  const svg = chart(run.stacks, { ...settings, slices: settings.rounds * settings.slicesPerRound });
  fs.writeFileSync(file.replace(/\.json$/, ".svg"), svg);
  console.log(`wrote ${file.replace(/\.json$/, ".svg")}`);
}
