import { type DisruptionPlan, type LoopResult, renderKept } from "@nodeplan/core";
import { money, table } from "./plan-command.ts";
import type { LoadedInputs } from "./prepare.ts";
import { toPlainYaml, type Write, writeJson, writeYaml } from "./stream-output.ts";
import type { Paint } from "./terminal.ts";

export { disruptionFor, loopFor, type Strategy } from "./prepare.ts";

const list = (xs: readonly string[], n = 3) =>
  xs.length === 0 ? "-" : xs.slice(0, n).join(", ") + (xs.length > n ? ` +${xs.length - n} more` : "");

/** `2x m6g.large on-demand, 1x m6g.8xlarge on-demand`. */
const counted = (xs: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return xs.length === 0 ? "-" : [...counts].map(([x, n]) => `${n}x ${x}`).join(", ");
};

const short = (s: string, n = 72) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The human report of a disruption plan. */
export function renderDisruptionReport(plan: DisruptionPlan, inputs: LoadedInputs, paint: Paint): string {
  const lines = [
    paint.bold(
      `nodeplan consolidate at ${inputs.now}: ${inputs.cluster.nodes.length} nodes, ${plan.commands.length} commands, ${plan.kept.length} nodes kept`,
    ),
  ];
  const waves = [...new Set(plan.commands.map((c) => c.wave))].sort((a, b) => a - b);
  for (const wave of waves) {
    const commands = plan.commands.filter((c) => c.wave === wave);
    const saving = commands.reduce((s, c) => s + c.savingsPerHour, 0);
    lines.push(
      "",
      paint.bold(
        `wave ${wave}${wave === 1 ? " (may start now)" : ` (after wave ${wave - 1} completes)`}: saves ${money(saving)}`,
      ),
    );
    const rows = [
      ["method", "candidates", "replacements", "evictions", "saves $/h", "reason"],
      ...commands.map((c) => [
        c.method,
        list(c.candidates),
        counted(c.replacements.map((r) => `${r.instanceType} ${r.capacityType}`)),
        String(c.evictions.length),
        c.savingsPerHour.toFixed(4),
        short(c.reason),
      ]),
    ];
    const [head, ...body] = table(rows);
    lines.push(`  ${paint.dim(head ?? "")}`, ...body.map((l) => `  ${l}`));
  }
  if (plan.kept.length > 0) {
    lines.push("", paint.bold(`kept: ${plan.kept.length}`));
    // One line per node, at most 3 per reason code: a fleet blocked by one PDB reads as one block.
    const byCode = new Map<string, DisruptionPlan["kept"]>();
    for (const k of plan.kept) byCode.set(k.reason.code, [...(byCode.get(k.reason.code) ?? []), k]);
    for (const [code, kept] of byCode) {
      for (const k of kept.slice(0, 3)) lines.push(`  ${k.node}: ${renderKept(k.reason)} [${code}]`);
      if (kept.length > 3) lines.push(paint.dim(`  ... and ${kept.length - 3} more nodes [${code}]`));
    }
  }
  const c = plan.cost;
  const saved = c.currentPerHour - c.afterPerHour;
  lines.push(
    "",
    paint.bold("cost per hour"),
    `  now:          ${money(c.currentPerHour)}`,
    `  after:        ${money(c.afterPerHour)}  (${
      Math.abs(saved) < 5e-5
        ? "no change"
        : `${saved > 0 ? "-" : "+"}${money(Math.abs(saved))}${c.currentPerHour > 0 ? `, ${((100 * saved) / c.currentPerHour).toFixed(1)}%` : ""}`
    })`,
    `  lower bound:  ${money(c.lowerBoundPerHour)}`,
  );
  for (const w of plan.warnings) lines.push(paint.yellow(`warning: ${w.message}`));
  if (plan.errors.length > 0)
    lines.push(
      paint.red(`input errors: ${plan.errors.length} (listed on stderr; the rest of the input was planned)`),
    );
  return `${lines.join("\n")}\n`;
}

/** Writes the chosen output format in pieces (JSON and YAML stream: a plan of any size prints). */
export function writeDisruption(
  plan: DisruptionPlan,
  inputs: LoadedInputs,
  output: "text" | "json" | "yaml" | undefined,
  write: Write,
  paint: Paint,
): void {
  if (output === "json") writeJson(plan, write);
  else if (output === "yaml") writeYaml(plan as unknown as Record<string, unknown>, write);
  else write(renderDisruptionReport(plan, inputs, paint));
}

/** Renders the chosen output format. */
export function renderDisruption(
  plan: DisruptionPlan,
  inputs: LoadedInputs,
  output: "text" | "json" | "yaml" | undefined,
  paint: Paint,
): string {
  if (output === "json") return `${JSON.stringify(plan, null, 2)}\n`;
  if (output === "yaml") return toPlainYaml(plan);
  return renderDisruptionReport(plan, inputs, paint);
}

/**
 * The human report of the controller's loop: one line per pass (when, what, the cluster after), then
 * where it stopped and why the nodes left stay.
 */
export function renderLoopReport(loop: LoopResult, inputs: LoadedInputs, paint: Paint): string {
  const start = Date.parse(inputs.now);
  const lines = [
    paint.bold(
      `nodeplan consolidate --loop from ${inputs.now}: ${loop.initial.nodes} nodes, ${loop.passes.length} passes, ${loop.evictions} pods evicted`,
    ),
    paint.dim("  each pass plans one wave, carries it out, and plans again (as the controller does)"),
    "",
  ];
  const rows = [
    ["pass", "at", "commands", "candidates -> replacements", "evicted", "$/h after", "nodes after"],
    ...loop.passes.map((p) => [
      String(p.pass),
      `+${Math.round((Date.parse(p.at) - start) / 1000)}s`,
      counted(p.commands.map((c) => c.method)),
      `${p.commands.reduce((s, c) => s + c.candidates.length, 0)} -> ${p.commands.reduce((s, c) => s + c.replacements.length, 0)}`,
      String(p.evictions),
      p.costPerHour.toFixed(4),
      String(p.nodes),
    ]),
  ];
  if (loop.passes.length > 0) {
    const [head, ...body] = table(rows);
    lines.push(`  ${paint.dim(head ?? "")}`, ...body.map((l) => `  ${l}`), "");
  }
  const saved = loop.initial.costPerHour - loop.final.costPerHour;
  lines.push(
    paint.bold(
      loop.converged ? `fixed point at ${loop.final.at}` : `stopped by the pass limit at ${loop.final.at}`,
    ),
    `  cost per hour: ${money(loop.initial.costPerHour)} -> ${money(loop.final.costPerHour)}${
      loop.initial.costPerHour > 0 ? ` (-${((100 * saved) / loop.initial.costPerHour).toFixed(1)}%)` : ""
    }`,
    `  nodes: ${loop.initial.nodes} -> ${loop.final.nodes}`,
  );
  const byCode = new Map<string, number>();
  for (const k of loop.last.kept) byCode.set(k.reason.code, (byCode.get(k.reason.code) ?? 0) + 1);
  if (byCode.size > 0)
    lines.push(`  nodes that stay, by reason: ${[...byCode].map(([c, n]) => `${c} ${n}`).join(", ")}`);
  for (const w of loop.last.warnings) lines.push(paint.yellow(`warning: ${w.message}`));
  return `${lines.join("\n")}\n`;
}

/** Writes the loop in the chosen format; JSON and YAML leave out the final cluster (it is the input, moved). */
export function writeLoop(
  loop: LoopResult,
  inputs: LoadedInputs,
  output: "text" | "json" | "yaml" | undefined,
  write: Write,
  paint: Paint,
): void {
  const { cluster: _cluster, ...data } = loop;
  if (output === "json") writeJson(data, write);
  else if (output === "yaml") writeYaml(data as unknown as Record<string, unknown>, write);
  else write(renderLoopReport(loop, inputs, paint));
}
