import { type DisruptionPlan, type Plan, renderKept } from "@nodeplan/core";

/**
 * The status ConfigMap's data, bounded: a summary a person reads, and the plan and disruption plan
 * as JSON with their top N entries (claims by price, the rest by name order of the plan) plus totals
 * and counts by reason code. Whatever the cluster's size the data stays under `maxBytes` (the
 * apiserver refuses a ConfigMap over 1 MiB, and a write refused would be retried forever): N is
 * halved until it fits. Everything left out is in the metrics.
 */

/** Default cap on the data (the apiserver's limit is 1 MiB; headroom for keys and metadata). */
export const STATUS_MAX_BYTES = 900 * 1024;
/** Default number of entries listed per list. */
export const STATUS_TOP_N = 200;

/** What the status reports besides the plans. */
export interface StatusExtras {
  mode: string;
  /** Objects skipped this pass, by kind and code. */
  objectErrors?: readonly { kind: string; name: string; code: string; message: string }[];
  /** Instances no NodeClaim names (garbage collection's last finding). */
  orphanedInstances?: readonly string[];
}

const money = (x: number) => `$${x.toFixed(4)}/h`;
const clip = (text: string, n: number) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);
const MESSAGE_CHARS = 300;
const PODS_PER_CLAIM = 20;

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The data of the status ConfigMap, at most `maxBytes` (UTF-8) in keys and values together. */
export function statusData(
  plan: Plan,
  disruption: DisruptionPlan | undefined,
  extras: StatusExtras,
  limits: { maxBytes?: number; topN?: number } = {},
): Record<string, string> {
  const maxBytes = limits.maxBytes ?? STATUS_MAX_BYTES;
  for (let n = limits.topN ?? STATUS_TOP_N; ; n = Math.floor(n / 2)) {
    const data = build(plan, disruption, extras, n);
    if (bytesOf(data) <= maxBytes || n === 0) return data;
  }
}

/** UTF-8 bytes of a ConfigMap's data as the apiserver counts them (keys and values). */
export function bytesOf(data: Record<string, string>): number {
  let bytes = 0;
  for (const [k, v] of Object.entries(data)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  return bytes;
}

function build(
  plan: Plan,
  disruption: DisruptionPlan | undefined,
  extras: StatusExtras,
  n: number,
): Record<string, string> {
  const claimNames = new Set(plan.nodeClaims.map((c) => c.name));
  const onExisting = plan.placements.filter((p) => !claimNames.has(p.node)).length;
  const podsOnNew = plan.nodeClaims.reduce((s, c) => s + c.pods.length, 0);
  const unschedulableByReason = countBy(plan.unschedulable, (u) => u.reason.code);
  const lines = [
    `mode: ${extras.mode}`,
    `pending pods placed on existing or in-flight nodes: ${onExisting}`,
    `new NodeClaims: ${plan.nodeClaims.length} for ${podsOnNew} pod(s)`,
    `unschedulable pods: ${plan.unschedulable.length}${
      plan.unschedulable.length === 0
        ? ""
        : ` (${Object.entries(unschedulableByReason)
            .map(([code, count]) => `${code}: ${count}`)
            .join(", ")})`
    }`,
    `cost now: ${money(plan.cost.currentPerHour)}; planned: ${money(plan.cost.plannedPerHour)}; lower bound on new capacity: ${money(plan.cost.lowerBoundPerHour)}`,
  ];
  const keptByReason = countBy(disruption?.kept ?? [], (k) => k.reason.code);
  if (disruption !== undefined) {
    const savings = disruption.commands.reduce((s, c) => s + c.savingsPerHour, 0);
    lines.push(
      `disruption commands (wave 1): ${disruption.commands.length}, saving ${money(savings)}; cost after: ${money(disruption.cost.afterPerHour)}`,
      `nodes kept: ${disruption.kept.length}${
        disruption.kept.length === 0
          ? ""
          : ` (${Object.entries(keptByReason)
              .map(([code, count]) => `${code}: ${count}`)
              .join(", ")})`
      }`,
      ...disruption.kept
        .slice(0, Math.min(n, 50))
        .map((k) => `kept ${k.node}: ${clip(renderKept(k.reason), MESSAGE_CHARS)}`),
    );
  }
  const errors = extras.objectErrors ?? [];
  if (errors.length > 0)
    lines.push(
      `objects skipped: ${errors.length}`,
      ...errors
        .slice(0, Math.min(n, 50))
        .map((e) => `skipped ${e.kind} ${e.name}: ${e.code}: ${clip(e.message, MESSAGE_CHARS)}`),
    );
  const orphans = extras.orphanedInstances ?? [];
  if (orphans.length > 0)
    lines.push(
      `instances no NodeClaim names: ${orphans.length} (${orphans.slice(0, Math.min(n, 20)).join(", ")})`,
    );
  if (n < (plan.nodeClaims.length || plan.unschedulable.length || (disruption?.kept.length ?? 0)))
    lines.push(`(lists below show the first ${n} entries; totals and counts by reason are complete)`);

  const claims = [...plan.nodeClaims].sort(
    (a, b) => b.pricePerHour - a.pricePerHour || (a.name < b.name ? -1 : 1),
  );
  const data: Record<string, string> = {
    summary: `${lines.join("\n")}\n`,
    "plan.json": JSON.stringify({
      nodeClaimsTotal: plan.nodeClaims.length,
      nodeClaims: claims.slice(0, n).map(({ requirements: _r, instanceTypeOptions, pods, ...c }) => ({
        ...c,
        instanceTypeOptions: instanceTypeOptions.slice(0, 10),
        podsTotal: pods.length,
        pods: pods.slice(0, PODS_PER_CLAIM),
      })),
      unschedulableTotal: plan.unschedulable.length,
      unschedulableByReason,
      unschedulable: plan.unschedulable
        .slice(0, n)
        .map((u) => ({ ...u, message: clip(u.message, MESSAGE_CHARS) })),
      cost: plan.cost,
      lowerBound: { method: plan.lowerBound.method },
      warnings: plan.warnings.slice(0, n).map((w) => ({ ...w, message: clip(w.message, MESSAGE_CHARS) })),
    }),
  };
  if (disruption !== undefined)
    data["disruption.json"] = JSON.stringify({
      commandsTotal: disruption.commands.length,
      commands: disruption.commands.slice(0, n).map(({ replacements, candidates, evictions, ...c }) => ({
        ...c,
        candidates: candidates.slice(0, PODS_PER_CLAIM),
        evictionsTotal: evictions.length,
        replacements: replacements.map((r) => r.instanceType).slice(0, PODS_PER_CLAIM),
      })),
      keptTotal: disruption.kept.length,
      keptByReason,
      kept: disruption.kept
        .slice(0, n)
        .map((k) => ({ node: k.node, code: k.reason.code, message: clip(k.message, MESSAGE_CHARS) })),
      cost: disruption.cost,
    });
  return data;
}
