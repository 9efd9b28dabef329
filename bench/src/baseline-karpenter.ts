import type { InstanceType, Pod, ResourceVector } from "@nodeplan/core";

/**
 * A Karpenter-faithful provisioning baseline, for comparison only (not part of the product): Karpenter's
 * queue order (cpu then memory descending), first fit into claims opened earlier in the solve keeping
 * every instance type the claim's pods still fit, a new claim otherwise, and the cheapest compatible
 * offering chosen at the end. It covers what the bench workloads use: one NodePool with no
 * requirements beyond its catalog, no taints, no DaemonSets, no existing nodes.
 */
export interface BaselineResult {
  costPerHour: number;
  nodes: number;
  scheduledPods: number;
}

interface Claim {
  used: Record<string, number>;
  /** Indexes into the catalog of types the claim's pods still fit. */
  options: number[];
  /** Per resource, the most any option could still take (a quick reject). */
  headroom: Record<string, number>;
}

/** Runs the baseline over pending pods and one NodePool's instance types. */
export function karpenterBaseline(pods: readonly Pod[], types: readonly InstanceType[]): BaselineResult {
  const queue = [...pods].sort(
    (a, b) =>
      (b.requests.cpuMillis ?? 0) - (a.requests.cpuMillis ?? 0) ||
      (b.requests.memoryBytes ?? 0) - (a.requests.memoryBytes ?? 0),
  );
  const offered = types
    .map((t, i) => ({
      t,
      i,
      price: Math.min(...t.offerings.filter((o) => o.available).map((o) => o.pricePerHour)),
    }))
    .filter((x) => Number.isFinite(x.price));
  const claims: Claim[] = [];
  let scheduled = 0;
  for (const pod of queue) {
    const r = pod.requests;
    let placed = false;
    for (const claim of claims) {
      if (!withinHeadroom(claim, r)) continue;
      const next = addTo(claim.used, r);
      const options = claim.options.filter((i) => fits(next, (types[i] as InstanceType).allocatable));
      if (options.length === 0) continue;
      claim.used = next;
      claim.options = options;
      claim.headroom = headroom(next, options, types);
      placed = true;
      break;
    }
    if (!placed) {
      const options = offered.filter((x) => fits(r, x.t.allocatable)).map((x) => x.i);
      if (options.length === 0) continue;
      const used = addTo({}, r);
      claims.push({ used, options, headroom: headroom(used, options, types) });
    }
    scheduled++;
  }
  const priceOf = new Map(offered.map((x) => [x.i, x.price]));
  let cost = 0;
  for (const claim of claims) cost += Math.min(...claim.options.map((i) => priceOf.get(i) as number));
  return { costPerHour: cost, nodes: claims.length, scheduledPods: scheduled };
}

function addTo(a: ResourceVector, b: ResourceVector): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function fits(used: ResourceVector, allocatable: ResourceVector): boolean {
  for (const [k, v] of Object.entries(used)) if (v > 0 && v > (allocatable[k] ?? 0)) return false;
  return true;
}

function headroom(
  used: ResourceVector,
  options: number[],
  types: readonly InstanceType[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(used)) {
    let max = 0;
    for (const i of options)
      max = Math.max(max, ((types[i] as InstanceType).allocatable[k] ?? 0) - (used[k] ?? 0));
    out[k] = max;
  }
  return out;
}

function withinHeadroom(claim: Claim, r: ResourceVector): boolean {
  for (const [k, v] of Object.entries(r)) if (v > (claim.headroom[k] ?? 0)) return false;
  return true;
}
