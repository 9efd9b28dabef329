import { type ClusterState, type Costs, type Plan, renderUnschedulable } from "@nodeplan/core";
import { toNodeClaimManifests, toYaml } from "@nodeplan/k8s-adapter";
import { type InputOptions, type LoadedInputs, loadInputs } from "./inputs.ts";
import { planFor } from "./prepare.ts";
import { toPlainYaml, type Write, writeJson, writeYaml } from "./stream-output.ts";
import type { Paint, Progress } from "./terminal.ts";

export { describeFailure, readInputs, UsageError } from "./inputs.ts";
export { planFor } from "./prepare.ts";

/** Options of `nodeplan plan`. */
export interface PlanOptions extends InputOptions {
  output?: "text" | "json" | "yaml" | "nodeclaims";
  failOnUnschedulable?: boolean;
}

/** What the plan command computed, for rendering. */
export interface PlanRun {
  plan: Plan;
  inputs: LoadedInputs;
  /** The cluster planned over (`inputs.cluster`). */
  cluster: ClusterState;
}

/** Loads manifests and the catalog, and plans. Input errors land in `plan.errors` (the rest is planned). */
export async function runPlan(
  paths: readonly string[],
  options: InputOptions,
  progress?: Progress,
): Promise<PlanRun> {
  const inputs = await loadInputs(paths, options, progress);
  return { plan: await planFor(inputs, progress), inputs, cluster: inputs.cluster };
}

/** `$0.1234/h`. */
export const money = (x: number) => `$${x.toFixed(4)}/h`;

const plain: Paint = {
  bold: (s) => s,
  dim: (s) => s,
  red: (s) => s,
  green: (s) => s,
  yellow: (s) => s,
  cyan: (s) => s,
};

/** Rows padded to their columns' widths (the first `right` columns right-aligned). */
export function table(rows: readonly string[][], right = 0): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows.map((row) =>
    row
      .map((cell, i) => (i < right ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** `instance $a + storage $b + ...`, the parts that are not zero (the instance always). */
export function costsLine(costs: Costs): string {
  const parts: [string, number][] = [
    ["instance", costs.instancePerHour],
    ["storage", costs.storagePerHour],
    ["public IPv4", costs.networkPerHour],
    ["burstable credits", costs.burstableCreditsPerHour],
    ["fees", costs.feesPerHour],
  ];
  return parts
    .filter(([name, v]) => name === "instance" || v > 0)
    .map(([name, v]) => `${name} ${money(v)}`)
    .join(" + ");
}

/** The human report of a plan. */
export function renderPlanReport(run: PlanRun, paint: Paint = plain): string {
  const { plan, inputs } = run;
  const { cluster } = inputs;
  const claims = new Set(plan.nodeClaims.map((c) => c.name));
  const onNew = plan.placements.filter((p) => claims.has(p.node)).length;
  const onExisting = plan.placements.length - onNew;
  const pending = plan.placements.length + plan.unschedulable.length;
  const lines = [
    paint.bold(
      `nodeplan: ${pending} pending pods, ${cluster.nodes.length} existing nodes, ${cluster.nodePools.length} NodePools`,
    ),
    "",
    `pods placed on existing nodes: ${onExisting}`,
    `pods placed on new nodes:      ${onNew}`,
    `pods unschedulable:            ${plan.unschedulable.length === 0 ? "0" : paint.red(String(plan.unschedulable.length))}`,
  ];

  const groups = new Map<string, { row: string[]; count: number; price: number; pods: number }>();
  for (const c of plan.nodeClaims) {
    const row = [c.nodePool, c.instanceType, c.zone, c.capacityType];
    const key = row.join("\u0000");
    const g = groups.get(key) ?? { row, count: 0, price: 0, pods: 0 };
    g.count++;
    g.price += c.pricePerHour;
    g.pods += c.pods.length;
    groups.set(key, g);
  }
  if (groups.size > 0) {
    const sorted = [...groups.values()].sort(
      (a, b) => b.price - a.price || a.row.join().localeCompare(b.row.join()),
    );
    lines.push("", paint.bold(`new nodes: ${plan.nodeClaims.length}`));
    const rows = [
      ["count", "NodePool", "instance type", "zone", "capacity", "$/h each", "$/h total", "pods"],
      ...sorted.map((g) => [
        String(g.count),
        ...g.row,
        (g.price / g.count).toFixed(4),
        g.price.toFixed(4),
        String(g.pods),
      ]),
    ];
    const [head, ...body] = table(rows, 1);
    lines.push(`  ${paint.dim(head ?? "")}`, ...body.map((l) => `  ${l}`));
  }

  if (plan.unschedulable.length > 0) {
    // Pods of one workload usually fail for one reason: one line per reason, with the pods named.
    const byReason = new Map<string, string[]>();
    for (const u of plan.unschedulable) {
      const text = renderUnschedulable(u.reason);
      byReason.set(text, [...(byReason.get(text) ?? []), u.pod]);
    }
    lines.push("", paint.bold(paint.red(`unschedulable pods: ${plan.unschedulable.length}`)));
    for (const [text, pods] of byReason) {
      const shown = pods.slice(0, 3).join(", ") + (pods.length > 3 ? ` and ${pods.length - 3} more` : "");
      lines.push(`  ${pods.length} x ${text}`, `    ${paint.dim(shown)}`);
    }
  }

  const c = plan.cost;
  lines.push(
    "",
    paint.bold("cost per hour"),
    `  now:          ${money(c.currentPerHour)}`,
    `  planned:      ${money(c.plannedPerHour)}  (+${money(c.newPerHour)} new)`,
    ...(c.breakdown === undefined ? [] : [`  new nodes:    ${costsLine(c.breakdown.new)}`]),
    `  lower bound:  ${money(c.lowerBoundPerHour)} for the new capacity (${plan.lowerBound.method})`,
    ...(plan.lowerBound.description === undefined ? [] : [`                ${plan.lowerBound.description}`]),
    `  ratio:        ${c.ratio === null ? "n/a (no new capacity needed)" : `${c.ratio.toFixed(4)} (new / lower bound)`}`,
  );
  for (const w of plan.warnings) lines.push(paint.yellow(`warning: ${w.message}`));
  if (plan.errors.length > 0)
    lines.push(
      paint.red(`input errors: ${plan.errors.length} (listed on stderr; the rest of the input was planned)`),
    );
  return `${lines.join("\n")}\n`;
}

/**
 * Writes the chosen output format in pieces: a Plan of any size prints (JSON and YAML stream; one
 * string of a 100k-pod plan would exceed the engine's string limit).
 */
export function writePlan(
  run: PlanRun,
  output: PlanOptions["output"],
  write: Write,
  paint: Paint = plain,
): void {
  if (output === "json") writeJson(run.plan, write);
  else if (output === "yaml") writeYaml(run.plan as unknown as Record<string, unknown>, write);
  else write(renderPlan(run, output, paint));
}

/** Renders the chosen output format as one string (see writePlan for plans of any size). */
export function renderPlan(run: PlanRun, output: PlanOptions["output"], paint: Paint = plain): string {
  switch (output ?? "text") {
    case "json":
      return `${JSON.stringify(run.plan, null, 2)}\n`;
    case "yaml":
      return toPlainYaml(run.plan);
    case "nodeclaims":
      return toYaml(
        toNodeClaimManifests(run.plan.nodeClaims, {
          nodePools: run.inputs.cluster.nodePools,
          pods: run.inputs.cluster.pods,
        }),
      );
    default:
      return renderPlanReport(run, paint);
  }
}
