import type { SeriesPoint, SimEvent, SimulationResult, StrategyResult, Summary } from "./result.ts";

/** The result as text: the strategies side by side, then where each one's money went. */
export function renderText(r: SimulationResult): string {
  const names = Object.keys(r.strategies);
  const runs = names.map((n) => r.strategies[n] as StrategyResult);
  const hours = r.durationSeconds / 3600;
  const lines: string[] = [];
  lines.push(
    `Simulation ${r.scenario}: ${fmtDuration(r.durationSeconds)}${r.start === undefined ? "" : ` from ${r.start}`}, seed ${r.seed}`,
    "",
  );
  const rows: [string, (s: Summary) => string][] = [
    ["cost for the period", (s) => `$${s.costTotal.toFixed(2)}`],
    ["  average per hour", (s) => `$${(s.costTotal / hours).toFixed(4)}`],
    ["  instances", (s) => `$${s.costBreakdown.instance.toFixed(2)}`],
    ["  storage (EBS volumes)", (s) => `$${s.costBreakdown.storage.toFixed(2)}`],
    ["  network (public IPv4)", (s) => `$${s.costBreakdown.network.toFixed(2)}`],
    ["  burstable credits", (s) => `$${s.costBreakdown.burstableCredits.toFixed(2)}`],
    ["  fees", (s) => `$${s.costBreakdown.fees.toFixed(2)}`],
    ["node-hours", (s) => s.nodeHours.toFixed(1)],
    ["peak nodes", (s) => String(s.peakNodes ?? "")],
    ["launches (failed)", (s) => `${s.launches} (${s.failedLaunches})`],
    ["pending pod-seconds", (s) => s.pendingPodSeconds.toFixed(0)],
    [
      "pending per pod p50 / p95 / max",
      (s) => `${secs(s.pendingSecondsP50)} / ${secs(s.pendingSecondsP95)} / ${secs(s.pendingSecondsMax)}`,
    ],
    ["below desired replicas", (s) => secs(s.belowDesiredReplicaSeconds)],
    ["evictions", (s) => String(s.evictions)],
    ["pods killed (no eviction)", (s) => String(s.podsKilled ?? 0)],
    ["bare pods lost", (s) => String(s.barePodsLost ?? 0)],
    ["disruptions", (s) => disruptions(s)],
    ["disruptions dropped", (s) => String(s.disruptionsDropped ?? 0)],
  ];
  const apps = new Set<string>();
  for (const run of runs)
    for (const a of Object.keys(run.summary.belowDesiredReplicaSecondsByApp ?? {})) apps.add(a);
  const appRows: [string, (s: Summary) => string][] = [...apps]
    .sort()
    .map((a) => [`  ${a}`, (s: Summary) => secs(s.belowDesiredReplicaSecondsByApp?.[a] ?? 0)]);
  rows.splice(13, 0, ...appRows);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const cols = runs.map((run, i) =>
    Math.max((names[i] as string).length, ...rows.map(([, f]) => f(run.summary).length)),
  );
  lines.push(`${"".padEnd(width)}${names.map((n, i) => n.padStart((cols[i] as number) + 2)).join("")}`);
  for (const [label, f] of rows)
    lines.push(
      `${label.padEnd(width)}${runs.map((run, i) => f(run.summary).padStart((cols[i] as number) + 2)).join("")}`,
    );
  for (const [i, run] of runs.entries()) {
    lines.push("", `${names[i]}: ${run.description ?? ""}`.trimEnd());
    const nodes = run.summary.nodes ?? [];
    const byType = new Map<string, { hours: number; cost: number; count: number; parts: number[] }>();
    for (const n of nodes) {
      const k = `${n.instanceType} ${n.capacityType}`;
      const v = byType.get(k) ?? { hours: 0, cost: 0, count: 0, parts: [0, 0, 0, 0, 0] };
      v.hours += n.hours;
      v.cost += n.cost;
      v.count++;
      const b = n.costBreakdown;
      if (b !== undefined)
        [b.instance, b.storage, b.network, b.burstableCredits, b.fees].forEach((x, j) => {
          v.parts[j] = (v.parts[j] as number) + x;
        });
      byType.set(k, v);
    }
    const top = [...byType].sort((a, b) => b[1].cost - a[1].cost || (a[0] < b[0] ? -1 : 1)).slice(0, 8);
    lines.push(
      "  where the money went (instance type, capacity type: nodes, node-hours, cost; what is not the instance):",
    );
    for (const [k, v] of top) {
      const extra = PART_NAMES.flatMap((name, j) =>
        j > 0 && (v.parts[j] as number) >= 0.005 ? [`${name} $${(v.parts[j] as number).toFixed(2)}`] : [],
      );
      lines.push(
        `    ${k.padEnd(26)} ${String(v.count).padStart(4)} nodes ${v.hours.toFixed(1).padStart(8)} h  $${v.cost.toFixed(2)}${extra.length === 0 ? "" : ` (${extra.join(", ")})`}`,
      );
    }
    if (byType.size > top.length) lines.push(`    ... and ${byType.size - top.length} more`);
    const notable = run.events.filter((e) => NOTABLE.has(e.kind));
    if (notable.length > 0) {
      lines.push(`  events (${notable.length} of ${run.events.length}):`);
      for (const e of notable.slice(0, 12))
        lines.push(`    ${fmtClock(e.t).padStart(8)}  ${describeEvent(e)}`);
      if (notable.length > 12) lines.push(`    ... ${notable.length - 12} more (-o json has them all)`);
    }
  }
  if ((r.notes ?? []).length > 0) lines.push("", ...(r.notes ?? []).map((n) => `note: ${n}`));
  return `${lines.join("\n")}\n`;
}

/** The parts of a node's cost, in CostTotals order. */
const PART_NAMES = ["instance", "storage", "network", "credits", "fees"];

const NOTABLE = new Set([
  "commit",
  "rollout",
  "interruption_storm",
  "interruption",
  "ami_release",
  "disruption_started",
  "disruption_dropped",
  "launch_failed",
]);

function disruptions(s: Summary): string {
  const parts = Object.entries(s.disruptions).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

function describeEvent(e: SimEvent): string {
  const f = e as Record<string, unknown>;
  switch (e.kind) {
    case "commit":
      return `Git commit to ${f.app}${f.replicas === undefined ? "" : ` (replicas ${f.replicas})`}${f.image === undefined ? "" : ` (image ${f.image})`}`;
    case "rollout":
      return `${f.app} rolls out ${f.to} (by ${f.by})`;
    case "interruption_storm":
      return `spot interruption notices to ${f.nodes} node(s)`;
    case "interruption":
      return `spot interruption notice: ${f.node}`;
    case "ami_release":
      return `new AMI ${f.image} for node class ${f.nodeClass}`;
    case "disruption_started":
      return `${f.method} of ${(f.candidates as string[]).length} node(s)${(f.replacements as string[]).length === 0 ? "" : `, launching ${(f.replacements as string[]).join(", ")}`}`;
    case "disruption_dropped":
      return `${f.method} dropped: ${f.why}`;
    case "launch_failed":
      return `launch of ${f.node} failed: ${f.code}`;
    default:
      return e.kind;
  }
}

function secs(s: number): string {
  return s >= 600 ? `${(s / 3600).toFixed(2)} h` : `${s.toFixed(1)} s`;
}

function fmtDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}` || `${seconds}s`;
}

function fmtClock(t: number): string {
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = Math.floor(t % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

const COLORS = ["#1f6feb", "#d9480f", "#2f9e44", "#862e9c"];
const EVENT_COLORS: Record<string, string> = {
  rollout: "#495057",
  commit: "#495057",
  interruption_storm: "#e03131",
  interruption: "#e03131",
  ami_release: "#7048e8",
  disruption_started: "#f08c00",
  launch_failed: "#c92a2a",
};

/**
 * An SVG chart of the run: cost per hour, nodes and pending pods over time, one line per strategy, with
 * the timeline's events (commits, rollouts, interruptions, AMI releases) as dashed lines and each
 * strategy's disruptions as ticks under its panel. Plain SVG, fixed size, the same bytes for the same result.
 */
export function renderSvg(r: SimulationResult): string {
  const W = 960;
  const left = 64;
  const right = 16;
  const panelH = 150;
  const gap = 34;
  const top = 48;
  const names = Object.keys(r.strategies);
  const runs = names.map((n) => r.strategies[n] as StrategyResult);
  const panels: { key: keyof SeriesPoint; label: string; fmt: (v: number) => string }[] = [
    { key: "costPerHour", label: "cost ($/h)", fmt: (v) => `$${v.toFixed(v < 10 ? 2 : 0)}` },
    { key: "nodes", label: "nodes", fmt: (v) => v.toFixed(0) },
    { key: "pendingPods", label: "pending pods", fmt: (v) => v.toFixed(0) },
  ];
  const H = top + panels.length * (panelH + gap) + 24;
  const T = Math.max(1, r.durationSeconds);
  const x = (t: number) => left + ((W - left - right) * t) / T;
  const out: string[] = [];
  out.push(
    // The plot's geometry, for a page that moves a cursor over the chart (the playground plays it).
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="11" data-plot-left="${left}" data-plot-right="${W - right}" data-plot-top="${top}" data-plot-bottom="${top + panels.length * (panelH + gap) - gap}" data-duration="${T}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${esc(`nodeplan simulate: ${r.scenario}`)}</text>`,
  );
  // Legend.
  let lx = left;
  for (const [i, n] of names.entries()) {
    const s = (runs[i] as StrategyResult).summary;
    const label = `${n}: $${s.costTotal.toFixed(2)}, ${s.nodeHours.toFixed(0)} node-h, ${s.pendingPodSeconds.toFixed(0)} pending pod-s`;
    out.push(
      `<rect x="${lx}" y="29" width="12" height="4" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${lx + 16}" y="35">${esc(label)}</text>`,
    );
    lx += 16 + label.length * 6 + 20;
  }
  const shared =
    runs[0]?.events.filter((e) =>
      ["commit", "rollout", "interruption_storm", "ami_release"].includes(e.kind),
    ) ?? [];
  for (const [p, panel] of panels.entries()) {
    const y0 = top + p * (panelH + gap);
    let max = 0;
    for (const run of runs) for (const pt of run.series) max = Math.max(max, Number(pt[panel.key] ?? 0));
    max = niceMax(max);
    const y = (v: number) => y0 + panelH - (panelH * v) / max;
    out.push(`<text x="${left}" y="${y0 - 6}" font-weight="600">${esc(panel.label)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      out.push(
        `<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e9ecef"/>`,
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#495057">${esc(panel.fmt(v))}</text>`,
      );
    }
    for (const e of shared)
      out.push(
        `<line x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${y0}" y2="${y0 + panelH}" stroke="${EVENT_COLORS[e.kind] ?? "#868e96"}" stroke-dasharray="3 3"><title>${esc(`${fmtClock(e.t)} ${describeEvent(e)}`)}</title></line>`,
      );
    for (const [i, run] of runs.entries()) {
      const pts = run.series.map((pt) => `${x(pt.t).toFixed(1)},${y(Number(pt[panel.key] ?? 0)).toFixed(1)}`);
      out.push(
        `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" points="${pts.join(" ")}"/>`,
      );
    }
    // Each strategy's disruptions and failed launches as ticks below the panel.
    if (p === panels.length - 1 || p === 1)
      for (const [i, run] of runs.entries())
        for (const e of run.events)
          if (e.kind === "disruption_started" || e.kind === "launch_failed" || e.kind === "interruption") {
            const ty = y0 + panelH + 4 + i * 6;
            out.push(
              `<line x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${ty}" y2="${ty + 5}" stroke="${COLORS[i % COLORS.length]}"><title>${esc(`${names[i]} ${fmtClock(e.t)} ${describeEvent(e)}`)}</title></line>`,
            );
          }
  }
  // Time axis.
  const axisY = top + panels.length * (panelH + gap) - gap + 16;
  const step = tickStep(T);
  for (let t = 0; t <= T; t += step)
    out.push(
      `<text x="${x(t).toFixed(1)}" y="${axisY + 12}" text-anchor="middle" fill="#495057">${esc(fmtClock(t).replace(/:00$/, ""))}</text>`,
    );
  out.push(
    `<line class="cursor" x1="${left}" x2="${left}" y1="${top - 10}" y2="${top + panels.length * (panelH + gap) - gap}" stroke="#212529" stroke-width="1" visibility="hidden"/>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function tickStep(T: number): number {
  for (const s of [60, 300, 600, 1800, 3600, 7200, 10800, 21600, 43200, 86400]) if (T / s <= 12) return s;
  return 86400 * Math.ceil(T / 86400 / 12);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
