import { CronExpressionParser } from "cron-parser";
import type { DisruptionInput } from "../disruption/input.ts";
import type { InstanceType, Node, NodePool, Pod, PodDisruptionBudget, Taint, Toleration } from "../model.ts";
import type { DisruptionPlan, PlannedNodeClaim } from "../plan.ts";

/**
 * An independent checker of a disruption plan. It shares no code with the planner: PDB arithmetic,
 * budgets, label matching, tolerations and fits are re-implemented here in the plainest way. It replays
 * the plan wave by wave on a copy of the cluster and checks every rule on the state each wave starts from.
 */

/** Every rule the checker knows, in the order it checks them. */
export const disruptionRules = [
  "unknown_node",
  "not_candidate",
  "do_not_disrupt",
  "evictions",
  "pdb",
  "budget",
  "karpenter_shape",
  "savings",
  "worst_case_savings",
  "replacement_price",
  "spot_to_spot",
  "placement",
  "fit",
  "cost",
  "kept",
] as const;

/** One broken rule. */
export interface DisruptionViolation {
  rule: (typeof disruptionRules)[number];
  message: string;
  wave?: number;
  node?: string;
  pod?: string;
}

/** The verdict. */
export interface DisruptionValidation {
  ok: boolean;
  violations: DisruptionViolation[];
}

const EPS = 1e-6;
/** Karpenter's spot-to-spot single-node consolidation needs this many cheaper instance types. */
const SPOT_TO_SPOT_MIN_TYPES = 15;
const FORCEFUL = new Set(["expiration", "interruption"]);
const BUDGET_REASON: Record<string, string> = {
  emptiness: "Empty",
  drift: "Drifted",
  consolidation: "Underutilized",
};

/** Checks `plan` against `input`. */
export function validateDisruption(input: DisruptionInput, plan: DisruptionPlan): DisruptionValidation {
  const v: DisruptionViolation[] = [];
  const now = Date.parse(input.now);
  const pools = new Map(input.nodePools.map((p) => [p.name, p]));
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  const where = new Map<string, string | undefined>();
  const pods = new Map<string, Pod>();
  for (const p of input.pods) {
    const k = `${p.namespace}/${p.name}`;
    pods.set(k, p);
    where.set(k, p.nodeName);
  }
  const price = (n: Node) => nodePrice(input, n);
  // PDB membership depends on labels and namespaces only: computed once.
  const pdbMembers = (input.pdbs ?? []).map((pdb) => ({
    pdb,
    name: `${pdb.namespace}/${pdb.name}`,
    members: input.pods.filter((p) => pdbSelects(pdb, p)).map((p) => `${p.namespace}/${p.name}`),
  }));
  const pdbOf = new Map<string, string[]>();
  for (const { name, members } of pdbMembers)
    for (const k of members) pdbOf.set(k, [...(pdbOf.get(k) ?? []), name]);
  const strictPdbs = input.options?.pdbEvictions === "strict";
  const karpenter = input.options?.strategy === "karpenter";

  const waves = [...new Set(plan.commands.map((c) => c.wave))].sort((a, b) => a - b);
  const removedAll = new Set<string>();
  for (const w of waves) {
    const cmds = plan.commands.filter((c) => c.wave === w);
    // The state this wave starts from.
    const podsOn = new Map<string, string[]>();
    for (const [k, n] of where) {
      if (n === undefined) continue;
      const list = podsOn.get(n);
      if (list === undefined) podsOn.set(n, [k]);
      else list.push(k);
    }
    const pdbAllowed = new Map<string, number>();
    for (const { pdb, name, members } of pdbMembers)
      pdbAllowed.set(
        name,
        pdbDisruptionsAllowed(
          pdb,
          members.map((k) => ({ ...(pods.get(k) as Pod), nodeName: where.get(k) })),
        ),
      );
    const base = new Map<string, number>();
    const poolSize = new Map<string, number>();
    for (const n of nodes.values()) {
      if (n.nodePool === undefined) continue;
      poolSize.set(n.nodePool, (poolSize.get(n.nodePool) ?? 0) + 1);
      if (n.deleting || !n.ready) base.set(n.nodePool, (base.get(n.nodePool) ?? 0) + 1);
    }
    const disrupting = new Map(base);
    // Forceful commands ignore budgets, but their nodes count against them.
    for (const c of cmds)
      if (FORCEFUL.has(c.method))
        for (const name of c.candidates) {
          const pool = nodes.get(name)?.nodePool;
          if (pool !== undefined) disrupting.set(pool, (disrupting.get(pool) ?? 0) + 1);
        }
    if (karpenter && cmds.filter((c) => !FORCEFUL.has(c.method)).length > 1)
      v.push({
        rule: "karpenter_shape",
        wave: w,
        message: "the karpenter strategy runs one graceful command per wave",
      });

    const pdbUsed = new Map<string, number>();
    const removedThisWave = new Set<string>();
    for (const c of cmds) {
      const forceful = FORCEFUL.has(c.method);
      // The NodePools whose budgets the command draws on.
      const budgetPools = new Set([c.budget.nodePool, ...(c.budgets ?? []).map((b) => b.nodePool)]);
      // Candidates exist, are managed by one of the command's NodePools, and may be disrupted.
      for (const name of c.candidates) {
        const n = nodes.get(name);
        if (n === undefined) {
          v.push({
            rule: "unknown_node",
            wave: w,
            node: name,
            message: `candidate ${name} does not exist at wave ${w}`,
          });
          continue;
        }
        if (n.nodePool === undefined || !budgetPools.has(n.nodePool) || !pools.has(n.nodePool))
          v.push({
            rule: "not_candidate",
            wave: w,
            node: name,
            message: `${name} is not managed by the command's NodePool${budgetPools.size > 1 ? "s" : ""} ${[...budgetPools].join(", ")}`,
          });
        if (n.deleting)
          v.push({ rule: "not_candidate", wave: w, node: name, message: `${name} is already being deleted` });
        if (!forceful && (!n.initialized || n.inFlight))
          v.push({ rule: "not_candidate", wave: w, node: name, message: `${name} is not initialized` });
        if (!forceful && n.annotations["karpenter.sh/do-not-disrupt"] === "true")
          v.push({
            rule: "do_not_disrupt",
            wave: w,
            node: name,
            message: `${name} is annotated do-not-disrupt`,
          });
      }
      // Evictions are exactly the reschedulable pods of the candidates.
      const expected = c.candidates
        .flatMap((n) => podsOn.get(n) ?? [])
        .filter((k) => {
          const p = pods.get(k) as Pod;
          return !p.daemonSet && !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";
        })
        .sort();
      const got = [...c.evictions].sort();
      if (expected.join("\n") !== got.join("\n"))
        v.push({
          rule: "evictions",
          wave: w,
          message: `command ${c.candidates.join(",")} evicts [${got.length}] but its nodes run ${expected.length} reschedulable pods`,
        });
      if (!forceful) {
        for (const k of expected) {
          const p = pods.get(k) as Pod;
          const dnd = p.annotations["karpenter.sh/do-not-disrupt"];
          if (dnd !== undefined && doNotDisruptActive(dnd, p, now))
            v.push({
              rule: "do_not_disrupt",
              wave: w,
              pod: k,
              message: `${k} is annotated do-not-disrupt: ${dnd}`,
            });
          const covering = pdbOf.get(k) ?? [];
          if (covering.length > 1)
            v.push({
              rule: "pdb",
              wave: w,
              pod: k,
              message: `${k} is under several PDBs: ${covering.join(", ")}`,
            });
          for (const name of covering) {
            pdbUsed.set(name, (pdbUsed.get(name) ?? 0) + 1);
            const allowed = pdbAllowed.get(name) ?? 0;
            if (allowed < 1 || (strictPdbs && (pdbUsed.get(name) ?? 0) > allowed))
              v.push({
                rule: "pdb",
                wave: w,
                pod: k,
                message: `PDB ${name} allows ${allowed} disruption(s) at wave ${w}`,
              });
          }
        }
        // Budgets: what is disrupting in the wave so far, this command included, within its reason's
        // budget, for each NodePool the command's candidates belong to.
        const reason = BUDGET_REASON[c.method] as string;
        const perPool = new Map<string, number>();
        for (const name of c.candidates) {
          const p = nodes.get(name)?.nodePool;
          if (p !== undefined) perPool.set(p, (perPool.get(p) ?? 0) + 1);
        }
        for (const [name, k] of perPool) {
          const pool = pools.get(name);
          if (pool === undefined) continue;
          disrupting.set(name, (disrupting.get(name) ?? 0) + k);
          const allowed = budgetAllows(pool, reason, now, poolSize.get(name) ?? 0);
          if ((disrupting.get(name) ?? 0) > allowed)
            v.push({
              rule: "budget",
              wave: w,
              message: `NodePool ${name} allows ${allowed} ${reason} disruption(s); wave ${w} disrupts ${disrupting.get(name)}`,
            });
        }
      }
      if (karpenter && c.method === "consolidation" && c.replacements.length > 1)
        v.push({
          rule: "karpenter_shape",
          wave: w,
          message: `karpenter consolidation replaces with ${c.replacements.length} nodes`,
        });

      // Savings add up.
      const removedPrice = c.candidates.reduce(
        (s, n) => s + (nodes.has(n) ? price(nodes.get(n) as Node) : 0),
        0,
      );
      const added = c.replacements.reduce((s, r) => s + r.pricePerHour, 0);
      if (Math.abs(removedPrice - added - c.savingsPerHour) > EPS)
        v.push({
          rule: "savings",
          wave: w,
          message: `savings ${c.savingsPerHour} != ${removedPrice} - ${added}`,
        });

      // Consolidation pays for itself at the worst launch price: recomputed here from the catalog for
      // every option each replacement may launch as, in its zones and capacity types.
      if (c.method === "consolidation") {
        let worstTotal = 0;
        for (const r of c.replacements) {
          const worst = claimWorstPrice(input, r);
          if (worst === undefined) {
            v.push({
              rule: "replacement_price",
              wave: w,
              node: r.name,
              message: `replacement ${r.name} lists an option with no available offering in its zones and capacity types`,
            });
            continue;
          }
          worstTotal += worst.price;
          if (worst.price > r.worstPricePerHour + EPS)
            v.push({
              rule: "replacement_price",
              wave: w,
              node: r.name,
              message: `replacement ${r.name} may launch as ${worst.option} at $${worst.price}/h, above its worstPricePerHour $${r.worstPricePerHour}/h`,
            });
          if (worst.price > removedPrice - EPS)
            v.push({
              rule: "replacement_price",
              wave: w,
              node: r.name,
              message: `replacement ${r.name} may launch as ${worst.option} at $${worst.price}/h, not cheaper than its candidates ($${removedPrice}/h)`,
            });
        }
        const threshold = karpenter ? 0 : savingsThreshold(input, removedPrice);
        if (c.replacements.length > 0 && removedPrice - worstTotal <= threshold + EPS)
          v.push({
            rule: "worst_case_savings",
            wave: w,
            message: `${c.candidates.join(",")}: candidates $${removedPrice}/h, replacements up to $${worstTotal}/h: saves ${removedPrice - worstTotal} <= ${threshold}`,
          });
        const allSpot = c.candidates.every((n) => nodes.get(n)?.capacityType === "spot");
        const spotReplacements = c.replacements.filter((r) => r.capacityType === "spot");
        if (allSpot && c.candidates.length > 0 && spotReplacements.length > 0) {
          if (input.options?.spotToSpotConsolidation !== true)
            v.push({
              rule: "spot_to_spot",
              wave: w,
              message: `${c.candidates.join(",")}: spot replaced with spot without the SpotToSpotConsolidation gate`,
            });
          else if (c.candidates.length === 1)
            for (const r of spotReplacements)
              if (r.instanceTypeOptions.length < SPOT_TO_SPOT_MIN_TYPES)
                v.push({
                  rule: "spot_to_spot",
                  wave: w,
                  node: r.name,
                  message: `single spot node ${c.candidates[0]} replaced by spot with ${r.instanceTypeOptions.length} options (Karpenter needs ${SPOT_TO_SPOT_MIN_TYPES} cheaper)`,
                });
        }
      }

      // Replay: remove the candidates, add the replacements, move the pods.
      for (const name of c.candidates) {
        nodes.delete(name);
        removedThisWave.add(name);
        removedAll.add(name);
      }
      for (const r of c.replacements) {
        if (nodes.has(r.name))
          v.push({
            rule: "placement",
            wave: w,
            node: r.name,
            message: `replacement ${r.name} collides with a node`,
          });
        nodes.set(r.name, replacementNode(input, r, pools.get(r.nodePool)));
      }
      const placed = new Map((c.placements ?? []).map((p) => [p.pod, p.node]));
      const candidates = new Set(c.candidates);
      const evict = new Set(expected);
      for (const k of [...where.keys()]) {
        const at = where.get(k);
        if (at === undefined || !candidates.has(at)) continue;
        if (!evict.has(k)) {
          where.delete(k);
          continue;
        }
        const to = placed.get(k);
        if (to === undefined || !nodes.has(to) || removedThisWave.has(to)) {
          if (!forceful)
            v.push({
              rule: "placement",
              wave: w,
              pod: k,
              message: `evicted pod ${k} has no home (${to ?? "none"})`,
            });
          where.set(k, undefined);
          continue;
        }
        const target = nodes.get(to) as Node;
        const problem = podProblem(pods.get(k) as Pod, target);
        if (problem !== undefined)
          v.push({ rule: "placement", wave: w, pod: k, node: to, message: `${k} on ${to}: ${problem}` });
        where.set(k, to);
      }
    }
    // Room: every node that received pods this wave holds them all.
    const load = new Map<string, Record<string, number>>();
    for (const [k, n] of where) {
      if (n === undefined) continue;
      const p = pods.get(k) as Pod;
      if (p.terminating || p.phase === "Succeeded" || p.phase === "Failed") continue;
      const l = load.get(n) ?? {};
      for (const [r, q] of Object.entries(p.requests)) l[r] = (l[r] ?? 0) + q;
      load.set(n, l);
    }
    const receivers = new Set(cmds.flatMap((c) => (c.placements ?? []).map((p) => p.node)));
    for (const n of receivers) {
      const node = nodes.get(n);
      if (node === undefined) continue;
      for (const [r, q] of Object.entries(load.get(n) ?? {})) {
        if (q > (node.allocatable[r] ?? 0))
          v.push({
            rule: "fit",
            wave: w,
            node: n,
            message: `${n} holds ${q} ${r} after wave ${w}, allocatable ${node.allocatable[r] ?? 0}`,
          });
      }
    }
  }

  // Costs and kept reasons.
  const current = input.nodes.reduce((s, n) => s + price(n), 0);
  const after = [...nodes.values()].reduce((s, n) => s + price(n), 0);
  if (Math.abs(current - plan.cost.currentPerHour) > EPS)
    v.push({ rule: "cost", message: `currentPerHour ${plan.cost.currentPerHour} != ${current}` });
  if (Math.abs(after - plan.cost.afterPerHour) > EPS)
    v.push({ rule: "cost", message: `afterPerHour ${plan.cost.afterPerHour} != ${after}` });
  if (plan.cost.lowerBoundPerHour > plan.cost.afterPerHour + EPS)
    v.push({ rule: "cost", message: `lowerBoundPerHour ${plan.cost.lowerBoundPerHour} above afterPerHour` });
  const keptNames = new Map<string, number>();
  for (const k of plan.kept) keptNames.set(k.node, (keptNames.get(k.node) ?? 0) + 1);
  for (const n of input.nodes) {
    const count = keptNames.get(n.name) ?? 0;
    if (removedAll.has(n.name) && count > 0)
      v.push({ rule: "kept", node: n.name, message: `${n.name} is both disrupted and kept` });
    if (!removedAll.has(n.name) && count !== 1)
      v.push({
        rule: "kept",
        node: n.name,
        message: `${n.name} is not disrupted and has ${count} kept reasons`,
      });
  }
  return { ok: v.length === 0, violations: v };
}

/** The anti-churn threshold of the nodeplan strategy: max($/h floor, percent of the removed price). */
function savingsThreshold(input: DisruptionInput, removedPerHour: number): number {
  const floor = input.options?.minSavingsPerHour ?? 0.001;
  const percent = input.options?.minSavingsPercent ?? 1;
  return Math.max(floor, (percent / 100) * removedPerHour);
}

/**
 * The most a replacement can cost: over its options, each option's worst launch price among its
 * available offerings in the claim's zones, for the capacity type it would launch as (reserved, then
 * spot, then on-demand: Karpenter's WorstLaunchPrice). Undefined when an option has no such offering.
 */
function claimWorstPrice(
  input: DisruptionInput,
  c: PlannedNodeClaim,
): { price: number; option: string } | undefined {
  const values = (key: string) => c.requirements.find((r) => r.key === key && r.operator === "In")?.values;
  const zones = values("topology.kubernetes.io/zone");
  const capacityTypes = values("karpenter.sh/capacity-type") ?? [c.capacityType];
  const types = typesFor(input, c.nodePool);
  let out: { price: number; option: string } | undefined;
  for (const name of c.instanceTypeOptions) {
    const it = types.find((t) => t.name === name);
    if (it === undefined) return undefined;
    let price: number | undefined;
    for (const ct of ["reserved", "spot", "on-demand"]) {
      if (!capacityTypes.includes(ct)) continue;
      const prices = it.offerings
        .filter(
          (o) => o.available && o.capacityType === ct && (zones === undefined || zones.includes(o.zone)),
        )
        .map((o) => o.pricePerHour);
      if (prices.length > 0) {
        price = Math.max(...prices);
        break;
      }
    }
    if (price === undefined) return undefined;
    if (out === undefined || price > out.price) out = { price, option: name };
  }
  return out;
}

function typesFor(input: DisruptionInput, pool: string): readonly InstanceType[] {
  const its = input.instanceTypes;
  return Array.isArray(its) ? its : ((its as Record<string, readonly InstanceType[]>)[pool] ?? []);
}

function nodePrice(input: DisruptionInput, n: Node): number {
  if (n.pricePerHour !== undefined) return n.pricePerHour;
  const it = typesFor(input, n.nodePool ?? "").find((t) => t.name === n.instanceType);
  return it?.offerings.find((o) => o.zone === n.zone && o.capacityType === n.capacityType)?.pricePerHour ?? 0;
}

/** The node a replacement claim becomes: its type's labels and allocatable less DaemonSet overhead. */
function replacementNode(input: DisruptionInput, c: PlannedNodeClaim, pool: NodePool | undefined): Node {
  const it = typesFor(input, c.nodePool).find((t) => t.name === c.instanceType);
  const labels: Record<string, string> = { ...it?.labels, ...pool?.template.labels };
  for (const r of c.requirements)
    if (r.operator === "In" && r.values.length === 1) labels[r.key] = r.values[0] as string;
  labels["node.kubernetes.io/instance-type"] = c.instanceType;
  labels["topology.kubernetes.io/zone"] = c.zone;
  labels["karpenter.sh/capacity-type"] = c.capacityType;
  labels["karpenter.sh/nodepool"] = c.nodePool;
  labels["kubernetes.io/hostname"] = c.name;
  const allocatable: Record<string, number> = {};
  for (const [k, q] of Object.entries(it?.allocatable ?? {}))
    allocatable[k] = q - (c.daemonSetOverhead[k] ?? 0);
  return {
    name: c.name,
    labels,
    annotations: {},
    taints: pool?.template.taints ?? [],
    capacity: it?.capacity ?? {},
    allocatable,
    instanceType: c.instanceType,
    zone: c.zone,
    capacityType: c.capacityType,
    nodePool: c.nodePool,
    pricePerHour: c.pricePerHour,
    createdAt: "1970-01-01T00:00:00Z",
    initialized: true,
    ready: true,
    deleting: false,
    unschedulable: false,
    inFlight: false,
  };
}

/** Why a pod may not run on a node (selector, required affinity, taints), or undefined. */
function podProblem(p: Pod, n: Node): string | undefined {
  if (n.unschedulable || n.deleting) return "node is unschedulable";
  for (const [k, val] of Object.entries(p.nodeSelector))
    if (n.labels[k] !== val) return `nodeSelector ${k}=${val} not met`;
  if (p.requiredNodeAffinity.length > 0) {
    const ok = p.requiredNodeAffinity.some(
      (t) =>
        t.matchExpressions.length > 0 &&
        t.matchExpressions.every((r) => {
          const val = n.labels[r.key];
          if (r.operator === "In") return val !== undefined && r.values.includes(val);
          if (r.operator === "NotIn") return val === undefined || !r.values.includes(val);
          if (r.operator === "Exists") return val !== undefined;
          if (r.operator === "DoesNotExist") return val === undefined;
          if (val === undefined) return false;
          const x = Number(val);
          const b = Number(r.values[0]);
          return r.operator === "Gt"
            ? x > b
            : r.operator === "Lt"
              ? x < b
              : r.operator === "Gte"
                ? x >= b
                : x <= b;
        }),
    );
    if (!ok) return "required node affinity not met";
  }
  const bad = n.taints.find(
    (t) => t.effect !== "PreferNoSchedule" && !p.tolerations.some((tol) => tolerates(tol, t)),
  );
  return bad === undefined ? undefined : `taint ${bad.key}:${bad.effect} not tolerated`;
}

function tolerates(tol: Toleration, t: Taint): boolean {
  if (tol.effect !== undefined && tol.effect !== t.effect) return false;
  if (tol.key === undefined || tol.key === "") return tol.operator === "Exists";
  if (tol.key !== t.key) return false;
  return tol.operator === "Exists" || (tol.value ?? "") === (t.value ?? "");
}

function doNotDisruptActive(value: string, p: Pod, now: number): boolean {
  if (value === "true") return true;
  try {
    return Date.parse(p.startTime ?? p.creationTimestamp) + goDuration(value) > now;
  } catch {
    return false; // Karpenter ignores a value that is neither "true" nor a duration.
  }
}

function pdbSelects(pdb: PodDisruptionBudget, p: Pod): boolean {
  if (p.namespace !== pdb.namespace || p.phase === "Succeeded" || p.phase === "Failed") return false;
  for (const [k, val] of Object.entries(pdb.selector.matchLabels)) if (p.labels[k] !== val) return false;
  return pdb.selector.matchExpressions.every((e) => {
    const val = p.labels[e.key];
    if (e.operator === "In") return val !== undefined && e.values.includes(val);
    if (e.operator === "NotIn") return val === undefined || !e.values.includes(val);
    if (e.operator === "Exists") return val !== undefined;
    return val === undefined;
  });
}

/** Kubernetes' disruptionsAllowed: healthy - desired, percentages rounded up. */
function pdbDisruptionsAllowed(pdb: PodDisruptionBudget, selected: readonly Pod[]): number {
  const expected = selected.length;
  const healthy = selected.filter(
    (p) => p.phase === "Running" && p.nodeName !== undefined && !p.terminating,
  ).length;
  const scale = (x: number | string) =>
    typeof x === "number" ? x : Math.ceil((Number.parseInt(x, 10) * expected) / 100);
  const desired =
    pdb.maxUnavailable !== undefined
      ? Math.max(0, expected - scale(pdb.maxUnavailable))
      : pdb.minAvailable !== undefined
        ? scale(pdb.minAvailable)
        : 1;
  return Math.max(0, healthy - desired);
}

/** Nodes a NodePool allows disrupted for `reason` now (before subtracting what is already disrupting). */
function budgetAllows(pool: NodePool, reason: string, now: number, size: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (const b of pool.disruption.budgets) {
    if (b.reasons !== undefined && !b.reasons.includes(reason as "Empty")) continue;
    let n = b.nodes.endsWith("%") ? Math.ceil((Number.parseInt(b.nodes, 10) * size) / 100) : Number(b.nodes);
    if (b.schedule !== undefined) {
      try {
        const dur = goDuration(b.duration ?? "");
        const macros: Record<string, string> = {
          "@daily": "0 0 * * *",
          "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *",
          "@weekly": "0 0 * * 0",
          "@monthly": "0 0 1 * *",
          "@yearly": "0 0 1 1 *",
          "@annually": "0 0 1 1 *",
        };
        const expr = CronExpressionParser.parse(macros[b.schedule] ?? b.schedule, {
          currentDate: new Date(now + 1),
          tz: "UTC",
        });
        const last = expr.prev().getTime();
        if (!(last + dur > now || last === now)) continue;
      } catch {
        n = 0;
      }
    }
    min = Math.min(min, n);
  }
  return min;
}

/** A Go duration (h, m, s, ms, us, ns units) in milliseconds; throws on anything else. */
function goDuration(s: string): number {
  const units: Record<string, number> = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  if (!/^((\d+(\.\d+)?)(h|ms|m|s|us|µs|ns))+$/.test(s)) throw new Error(`bad duration ${s}`);
  let ms = 0;
  for (const part of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g))
    ms += Number(part[1]) * (units[part[2] as string] as number);
  return ms;
}
