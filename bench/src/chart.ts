/**
 * The BENCHMARKS.md chart, written by hand as SVG (no dependency): left, pods/s against pods for the
 * provisioning rows (log-log, one line per workload and catalog); right, cost / lower bound per row for
 * nodeplan and for the baseline (cost ratios above the axis's end are clipped and labelled).
 */
export interface ChartRow {
  id: string;
  pods: number;
  podsPerSec: number;
  costPerHour?: unknown;
  lowerBoundPerHour?: unknown;
  baselineCostPerHour?: unknown;
}

const COLORS: Record<string, string> = {
  "fake-400": "#1f77b4",
  "aws-us-east-1": "#d62728",
  "kwok-linear": "#2ca02c",
};
const DASHES: Record<string, string> = { generic: "", diverse: "6 3", mixed: "2 3" };
const FONT = 'font-family="sans-serif" font-size="11"';

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
const fixed = (x: number) => Number(x.toFixed(1));

/** The SVG document. */
export function renderChart(rows: readonly ChartRow[]): string {
  const ratioRows = rows.flatMap((r) => {
    const bound = num(r.lowerBoundPerHour);
    const cost = num(r.costPerHour);
    if (bound === undefined || bound <= 0 || cost === undefined) return [];
    const base = num(r.baselineCostPerHour);
    return [{ id: r.id, nodeplan: cost / bound, baseline: base === undefined ? undefined : base / bound }];
  });
  const rightHeight = 60 + ratioRows.length * 22;
  const height = Math.max(360, rightHeight + 20);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1100" height="${height}" viewBox="0 0 1100 ${height}">`,
    `<rect width="1100" height="${height}" fill="white"/>`,
    throughputPanel(rows, 60, 40, 380, 260),
    ratioPanel(ratioRows, 700, 40, 340),
    "</svg>",
  ];
  return `${parts.join("\n")}\n`;
}

/** pods/s against pods, log-log, one polyline per `<workload>:<catalog>`. */
function throughputPanel(rows: readonly ChartRow[], x0: number, y0: number, w: number, h: number): string {
  const series = new Map<string, { workload: string; catalog: string; points: [number, number][] }>();
  for (const r of rows) {
    const m = /^(generic|diverse|mixed)-(\d+):(.+)$/.exec(r.id);
    if (m === null || r.podsPerSec <= 0) continue;
    const key = `${m[1]}:${m[3]}`;
    const s = series.get(key) ?? { workload: m[1] as string, catalog: m[3] as string, points: [] };
    s.points.push([r.pods, r.podsPerSec]);
    series.set(key, s);
  }
  const all = [...series.values()].flatMap((s) => s.points);
  const out = [
    `<text x="${x0}" y="${y0 - 14}" ${FONT} font-weight="bold">pods/s against pods (log-log)</text>`,
  ];
  if (all.length === 0) return out.join("\n");
  const lx = (v: number) => Math.log10(v);
  const [xmin, xmax] = [
    Math.floor(lx(Math.min(...all.map((p) => p[0])))),
    Math.ceil(lx(Math.max(...all.map((p) => p[0])))),
  ];
  const [ymin, ymax] = [
    Math.floor(lx(Math.min(...all.map((p) => p[1])))),
    Math.ceil(lx(Math.max(...all.map((p) => p[1])))),
  ];
  const sx = (v: number) => fixed(x0 + ((lx(v) - xmin) / Math.max(1, xmax - xmin)) * w);
  const sy = (v: number) => fixed(y0 + h - ((lx(v) - ymin) / Math.max(1, ymax - ymin)) * h);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (let e = xmin; e <= xmax; e++)
    out.push(`<text x="${sx(10 ** e)}" y="${y0 + h + 14}" ${FONT} text-anchor="middle">1e${e}</text>`);
  for (let e = ymin; e <= ymax; e++) {
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${sy(10 ** e)}" y2="${sy(10 ** e)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 4}" y="${sy(10 ** e) + 4}" ${FONT} text-anchor="end">1e${e}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 30}" ${FONT} text-anchor="middle">pods</text>`);
  let legendY = y0 + h + 50;
  for (const [key, s] of series) {
    const color = COLORS[s.catalog] ?? "#555";
    const dash = DASHES[s.workload] ?? "";
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    out.push(
      `<polyline points="${pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dash === "" ? "" : ` stroke-dasharray="${dash}"`}/>`,
    );
    for (const [x, y] of pts) out.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${color}"/>`);
    out.push(
      `<line x1="${x0}" x2="${x0 + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="2"${dash === "" ? "" : ` stroke-dasharray="${dash}"`}/>`,
      `<text x="${x0 + 30}" y="${legendY}" ${FONT}>${esc(key)}</text>`,
    );
    legendY += 14;
  }
  return out.join("\n");
}

/** Horizontal bars of cost / lower bound (nodeplan dark, baseline light), axis from 1 to at most 3. */
function ratioPanel(
  rows: readonly { id: string; nodeplan: number; baseline: number | undefined }[],
  x0: number,
  y0: number,
  w: number,
): string {
  const out = [
    `<text x="${x0 - 240}" y="${y0 - 14}" ${FONT} font-weight="bold">cost / lower bound (dark: nodeplan, light: baseline, orange: the 1.05 target)</text>`,
  ];
  const max = Math.min(3, Math.max(1.1, ...rows.flatMap((r) => [r.nodeplan, r.baseline ?? 1])));
  const sx = (v: number) => fixed(x0 + ((Math.min(v, max) - 1) / (max - 1)) * w);
  const h = rows.length * 22;
  for (const t of [1, 1.05, 1.5, 2, 2.5, 3].filter((t) => t <= max)) {
    out.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${y0}" y2="${y0 + h}" stroke="${t === 1.05 ? "#f90" : "#ddd"}"/>`,
    );
    if (t !== 1.05)
      out.push(`<text x="${sx(t)}" y="${y0 + h + 14}" ${FONT} text-anchor="middle">${t}</text>`);
  }
  rows.forEach((r, i) => {
    const y = y0 + i * 22;
    out.push(`<text x="${x0 - 6}" y="${y + 13}" ${FONT} text-anchor="end">${esc(r.id)}</text>`);
    out.push(
      `<rect x="${x0}" y="${y + 2}" width="${fixed(sx(r.nodeplan) - x0)}" height="9" fill="#1f4e79"/>`,
    );
    const label = r.nodeplan > max ? `${r.nodeplan.toFixed(2)} (clipped)` : r.nodeplan.toFixed(3);
    out.push(`<text x="${sx(r.nodeplan) + 3}" y="${y + 10}" ${FONT}>${label}</text>`);
    if (r.baseline !== undefined) {
      out.push(
        `<rect x="${x0}" y="${y + 12}" width="${fixed(sx(r.baseline) - x0)}" height="7" fill="#9ecae1"/>`,
      );
      if (r.baseline > max)
        out.push(`<text x="${sx(r.baseline) + 3}" y="${y + 19}" ${FONT}>${r.baseline.toFixed(2)}</text>`);
    }
  });
  return out.join("\n");
}
