import {
  type EncodedProblem,
  ERROR_TOO_MANY_BINS,
  ERROR_TOO_MANY_PLACEMENTS,
  type Kernel,
  type KernelResult,
  REASON_CLASS_CAP,
  REASON_LAUNCH_CAP,
} from "@nodeplan/solver-wasm";
import { type Costs, costsOfNode, offeringCosts, sumCosts, ZERO_COSTS } from "../costs.ts";
import type {
  InstanceType,
  NodePool,
  NodeSelectorRequirement,
  Offering,
  Pod,
  ResourceVector,
} from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import {
  checkMinValues,
  type MinValuesCandidate,
  type MinValuesShortfall,
  Requirements,
} from "../requirements.ts";
import { LABEL_CAPACITY_RESERVATION_ID } from "../well-known-labels.ts";
import { diagnoseUnplaced } from "./diagnose.ts";
import { type EncodedOffering, type Encoding, encode, fitsAlone, type PodGroup } from "./encode.ts";
import { EXACT_BOUND_PODS, exactBound } from "./exact-bound.ts";
import { instanceTypesFor, isProvisionable, type ProvisioningInput } from "./input.ts";
import {
  type BoundClass,
  type BoundOffering,
  computeLowerBound,
  describeLowerBound,
  type LowerBoundResult,
} from "./lower-bound.ts";
import { truncateKeepingMinValues } from "./min-values.ts";
import { type ProvenBound, patternBound } from "./pattern-bound.ts";
import { newBinsCost, packByPatterns } from "./pattern-packing.ts";
import { solvePatternLP } from "./patterns.ts";
import {
  preferNoScheduleTaints,
  relaxationSteps,
  withPreferences,
  withPreferNoScheduleToleration,
} from "./preferences.ts";
import { applyTopology, type DomainCaps, needsTopology, type TopologyResult } from "./topology.ts";

const DEFAULT_MAX_INSTANCE_TYPES = 600;
/** The pattern stage runs when the kernel's plan is more than this far above the resource bound. */
const PATTERN_TRIGGER = 0.01;
/** Solve rounds after which no more preferences are relaxed. */
const MAX_RELAX_ROUNDS = 12;

/** Plans new capacity for the pending pods of `input` with `kernel` (see `createSolver`). */
export function provision(kernel: Kernel, input: ProvisioningInput): Plan {
  const first = provisionOnce(kernel, input);
  if (first.plan.unschedulable.length === 0 && first.relaxed === 0) return first.plan;
  return rightSizedForLimits(kernel, input, first);
}

/**
 * Karpenter charges a NodePool's limits with the largest capacity among each claim's options, so in a
 * limited pool a few small claims whose options reach the biggest types use the limit up and later pods
 * stay pending (or relax their preferences). The same plan with the pool's types cut to a fraction of
 * the room left (1/2, 1/4, 1/8: room for at least 2, 4, 8 claims) is kept when it schedules more pods,
 * relaxes fewer, or costs less; its bound is recomputed over the whole catalog.
 */
function rightSizedForLimits(kernel: Kernel, input: ProvisioningInput, first: Attempt): Plan {
  const room = new Map<string, [string, number][]>();
  for (const pool of input.nodePools) {
    const used: Record<string, number> = {};
    for (const n of input.nodes)
      if (n.nodePool === pool.name)
        for (const [k, v] of Object.entries(n.capacity)) used[k] = (used[k] ?? 0) + v;
    const left = Object.entries(pool.limits)
      .filter(([k, v]) => k !== "nodes" && Number.isFinite(v))
      .map(([k, v]): [string, number] => [k, v - (used[k] ?? 0)]);
    if (left.length > 0) room.set(pool.name, left);
  }
  if (room.size === 0) return first.plan;
  const score = (a: Attempt) => [a.plan.unschedulable.length, a.relaxed, a.plan.cost.newPerHour];
  const better = (a: Attempt, b: Attempt) => {
    const [x, y] = [score(a), score(b)];
    for (let i = 0; i < x.length; i++)
      if ((x[i] as number) !== (y[i] as number)) return (x[i] as number) < (y[i] as number);
    return false;
  };
  let best = first;
  let bestInput = input;
  for (const fraction of [1 / 2, 1 / 4, 1 / 8]) {
    const byPool: Record<string, readonly InstanceType[]> = {};
    for (const pool of input.nodePools) {
      const types = instanceTypesFor(input, pool.name);
      const left = room.get(pool.name);
      const cut =
        left === undefined
          ? types
          : types.filter((t) => left.every(([k, r]) => (t.capacity[k] ?? 0) <= fraction * r));
      byPool[pool.name] = cut.length > 0 ? cut : types;
    }
    const trimmed = { ...input, instanceTypes: byPool };
    const attempt = provisionOnce(kernel, trimmed, input.instanceTypes);
    if (better(attempt, best)) {
      best = attempt;
      bestInput = trimmed;
    }
  }
  if (bestInput === input) return first.plan;
  // The trimmed catalog's bound bounds the trimmed problem only: bound the pods on new claims over all types.
  const plan = best.plan;
  const onNew = new Set(plan.nodeClaims.flatMap((c) => c.pods));
  const tolerate = preferNoScheduleTaints(input.nodePools, input.nodes).length > 0;
  let bound: ProvenBound = boundOnOwnConstraints(input, onNew, tolerate);
  if (input.options?.exactBound !== false) {
    const exact = exactOverOwnConstraints(input, plan.nodeClaims, tolerate);
    if (exact !== undefined && exact.lowerBoundPerHour > bound.lowerBoundPerHour) bound = exact;
  }
  const lowerBoundPerHour = Math.min(bound.lowerBoundPerHour, plan.cost.newPerHour);
  return {
    ...plan,
    cost: {
      ...plan.cost,
      lowerBoundPerHour,
      ratio: lowerBoundPerHour > 0 ? plan.cost.newPerHour / lowerBoundPerHour : null,
    },
    lowerBound: {
      method: bound.method,
      certificate: bound.certificate,
      description: describeLowerBound(bound.method),
    },
  };
}

/** A plan and how many pods it relaxed preferences of. */
interface Attempt {
  plan: Plan;
  relaxed: number;
}

/** One plan; `catalog` (default the input's) is the whole catalog, where topology spread finds its domains. */
function provisionOnce(
  kernel: Kernel,
  input: ProvisioningInput,
  catalog: ProvisioningInput["instanceTypes"] = input.instanceTypes,
): Attempt {
  const policy = input.options?.preferencePolicy ?? "Respect";
  const levels = new Map<string, number>();
  const pending = input.pods.filter(isProvisionable);
  const preferNoSchedule = preferNoScheduleTaints(input.nodePools, input.nodes);
  const preferring = pending.some((p) => relaxationSteps(p, preferNoSchedule) > 0);
  const steps = new Map(preferring ? pending.map((p) => [key(p), relaxationSteps(p, preferNoSchedule)]) : []);
  const caps: DomainCaps = new Map();
  let topo: TopologyResult | undefined;
  let scheduled: ProvisioningInput = input;
  let base = preferring ? undefined : encode(input);
  let enc: Encoding;
  let upfront: ReturnType<typeof lowerBoundFor>;
  let result: KernelResult;
  for (let round = 0; ; round++) {
    if (base === undefined || (preferring && caps.size === 0)) {
      // Preferences as requirements, relaxed one step per failure (Karpenter's order).
      scheduled = {
        ...input,
        pods: input.pods.map((p) =>
          isProvisionable(p) ? withPreferences(p, levels.get(key(p)) ?? 0, policy, preferNoSchedule) : p,
        ),
      };
      base = encode(scheduled);
    }
    topo = needsTopology(scheduled, base) ? applyTopology(scheduled, base, caps, catalog) : undefined;
    enc = topo?.enc ?? base;
    // Values first: the LP over all pending pods prices each pod group in dollars, which is what the
    // kernel's cost-aware offering choice maximizes per dollar.
    upfront = lowerBoundFor(
      enc,
      enc.groups.map((g) => g.pods.length),
    );
    setGroupValues(enc, upfront);
    result = solveWithCapacity(kernel, enc.problem);
    // Pods pinned to a domain that could not take them all: cap that domain at what it took and pin
    // again, so the spread is recomputed over what really fits. Always run to its fixed point (caps
    // only fall, so it ends): a pinned pod left unplaced was counted in its domain when the others
    // were pinned, and a plan stopped there breaks their skew.
    if (topo !== undefined && tightenCaps(topo, result, caps)) continue;
    // Relaxing re-pins from scratch (caps cleared): bounded, as relaxing and capping can alternate.
    if (round >= MAX_RELAX_ROUNDS || !preferring || !relax(enc, topo, result, levels, steps)) break;
    caps.clear();
  }
  const E = enc.existing.length;
  // Where the plan is visibly above the resource bound, indivisible pods are usually why (small nodes):
  // the pattern LP proves a tighter bound and guides a second packing, kept when cheaper. Not under
  // relaxed preferences, whose bound is taken over the pods' own constraints.
  let resourceBound: ProvenBound | undefined;
  let patternProof: ProvenBound | undefined;
  if (!preferring) {
    const onNewKernel = podsOnNewBins(result, enc.groups.length, E);
    const all = enc.groups.every((g, i) => onNewKernel[i] === g.pods.length);
    resourceBound = all ? upfront.bound : lowerBoundFor(enc, onNewKernel).bound;
    let cost = newBinsCost(enc.problem, result);
    if (
      input.options?.patterns !== false &&
      cost / 1e6 > resourceBound.lowerBoundPerHour * (1 + PATTERN_TRIGGER)
    ) {
      const prices = enc.offerings.map((o) => o.offering.pricePerHour);
      const patterns = solvePatternLP(
        enc.problem,
        onNewKernel,
        { provenPerHour: resourceBound.lowerBoundPerHour, planPerHour: cost / 1e6 },
        prices,
      );
      if (patterns !== undefined) {
        for (const integral of [false, true]) {
          const guided = packByPatterns(
            kernel,
            enc,
            result,
            onNewKernel,
            patterns,
            solveWithCapacity,
            integral,
          );
          const guidedCost =
            guided === undefined ? Number.POSITIVE_INFINITY : newBinsCost(enc.problem, guided);
          if (guided !== undefined && guidedCost < cost) {
            result = guided;
            cost = guidedCost;
          }
        }
        // Topology pins pods to domains the solver chose, not ones their constraints force: a bound over
        // pinned groups would bound this assignment only, so it is not claimed then.
        const proven = topo === undefined ? patternBound(enc, onNewKernel, patterns) : undefined;
        if (proven !== undefined && proven.lowerBoundPerHour > resourceBound.lowerBoundPerHour)
          patternProof = proven;
      }
    }
  }
  // Placements: each group's pods in queue order fill the kernel's (group, bin, count) triples.
  const W = Math.ceil(enc.offerings.length / 32);
  const next = new Int32Array(enc.groups.length);
  const binPods: Pod[][] = Array.from({ length: result.newBins }, () => []);
  const placements: Plan["placements"] = [];
  const existingPods: { pod: Pod; node: string }[] = [];
  for (let i = 0; i < result.placements.length; i += 3) {
    const g = result.placements[i] as number;
    const bin = result.placements[i + 1] as number;
    const count = result.placements[i + 2] as number;
    const group = enc.groups[g] as PodGroup;
    const start = next[g] as number;
    next[g] = start + count;
    for (const pod of unbundle(topo, group.pods.slice(start, start + count))) {
      if (bin < E) existingPods.push({ pod, node: (enc.existing[bin] as { name: string }).name });
      else binPods[bin - E]?.push(pod);
    }
  }

  const maxTypes = input.options?.maxInstanceTypes ?? DEFAULT_MAX_INSTANCE_TYPES;
  const counters = new Map<string, number>();
  const nodeClaims: PlannedNodeClaim[] = [];
  const tables = decodeTables(enc);
  const unschedulable: Plan["unschedulable"] = [];
  const minValuesPolicy = input.options?.minValuesPolicy ?? "Strict";
  const dropped = new Set<string>();
  for (let b = 0; b < result.newBins; b++) {
    const { claim, short: shortfall } = decodeClaim(
      enc,
      tables,
      result,
      b,
      W,
      binPods[b] as Pod[],
      maxTypes,
      input,
      counters,
    );
    const short: UnschedulableReason | undefined =
      shortfall === undefined
        ? undefined
        : { code: "min_values_unsatisfiable", ...shortfall, nodePool: claim.nodePool };
    if (short !== undefined && minValuesPolicy === "Strict") {
      // Karpenter will not launch it: its pods stay pending, named after the key that fell short.
      counters.set(claim.nodePool, (counters.get(claim.nodePool) as number) - 1);
      dropped.add(claim.name);
      for (const pod of claim.pods)
        unschedulable.push({ pod, reason: short, message: renderUnschedulable(short) });
      continue;
    }
    if (short !== undefined)
      claim.annotations = { ...claim.annotations, "karpenter.sh/nodeclaim-min-values-relaxed": "true" };
    nodeClaims.push(claim);
  }
  for (const { pod, node } of existingPods) placements.push({ pod: key(pod), node });
  for (const c of nodeClaims) for (const p of c.pods) placements.push({ pod: p, node: c.name });

  // Only a failed group needs the NodePools' usage (to name the limit that stopped it).
  let usage: Map<string, Record<string, number>> | undefined;
  enc.groups.forEach((group, g) => {
    const left = result.unplaced[g] as number;
    if (left === 0) return;
    usage ??= poolUsage(input, nodeClaims);
    const kernelReason = result.unplacedReason[g] as number;
    const capReason = kernelReason === REASON_CLASS_CAP ? topo?.capReasons[g] : undefined;
    const reason: UnschedulableReason =
      capReason ??
      (kernelReason === REASON_LAUNCH_CAP
        ? reservationsUsedUp(enc, group)
        : diagnoseUnplaced(enc, group, kernelReason, input, usage));
    for (const pod of unbundle(topo, group.pods.slice(group.pods.length - left))) {
      unschedulable.push({ pod: key(pod), reason, message: renderUnschedulable(reason) });
    }
  });
  for (const f of topo?.failures ?? [])
    unschedulable.push({ pod: key(f.pod), reason: f.reason, message: renderUnschedulable(f.reason) });
  unschedulable.sort((a, b) => cmp(a.pod, b.pod));
  placements.sort((a, b) => cmp(a.pod, b.pod));

  // The bound covers exactly the pods the plan puts on new claims.
  const onNew = podsOnNewBins(result, enc.groups.length, E);
  let onNewPods: ReadonlySet<string> | undefined;
  if (dropped.size > 0 || preferring) {
    onNewPods = new Set(nodeClaims.flatMap((c) => c.pods));
    enc.groups.forEach((g, i) => {
      onNew[i] = g.pods.filter((p) => onNewPods?.has(key(p))).length;
    });
  }
  // Usually every pending pod lands on a new claim: then the LP is the one already solved. Preferences
  // made requirements only narrow a plan: its bound is taken over the pods' own constraints.
  const same = !preferring && enc.groups.every((g, i) => onNew[i] === g.pods.length);
  // A hostname self-affinity bundle is one pod in the first member's constraint class; the bound values
  // each member in its own class (as the verifier does), so it is taken over the encoding before topology.
  const bundled = !preferring && topo !== undefined && topo.bundles.size > 0 && base !== undefined;
  let bound: ProvenBound = bundled
    ? boundOverGroups(base as Encoding, new Set(nodeClaims.flatMap((c) => c.pods)))
    : same
      ? upfront.bound
      : preferring
        ? boundOnOwnConstraints(input, onNewPods ?? new Set(), preferNoSchedule.length > 0)
        : dropped.size === 0 && resourceBound !== undefined
          ? resourceBound
          : lowerBoundFor(enc, onNew).bound;
  // The pattern bound covers the pods the kernel put on new claims: valid while no claim was dropped.
  if (
    patternProof !== undefined &&
    dropped.size === 0 &&
    patternProof.lowerBoundPerHour > bound.lowerBoundPerHour
  )
    bound = patternProof;
  // Small problems: the exact optimum of covering the claims' pods, over their own constraints.
  if (input.options?.exactBound !== false) {
    const exact = exactOverOwnConstraints(input, nodeClaims, preferNoSchedule.length > 0);
    if (exact !== undefined && exact.lowerBoundPerHour > bound.lowerBoundPerHour) bound = exact;
  }
  const currentPerHour = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  const newPerHour = nodeClaims.reduce((s, c) => s + c.pricePerHour, 0);
  const breakdown = {
    current: currentCosts(input),
    new: sumCosts(nodeClaims.map((c) => c.costs ?? offeringCosts(c))),
  };
  const lowerBoundPerHour = Math.min(bound.lowerBoundPerHour, newPerHour);
  const plan: Plan = {
    nodeClaims,
    placements,
    unschedulable,
    cost: {
      currentPerHour,
      newPerHour,
      plannedPerHour: currentPerHour + newPerHour,
      lowerBoundPerHour,
      ratio: lowerBoundPerHour > 0 ? newPerHour / lowerBoundPerHour : null,
      breakdown,
    },
    lowerBound: {
      method: bound.method,
      certificate: bound.certificate,
      description: describeLowerBound(bound.method),
    },
    warnings: [...unenforcedConstraints(topo?.unenforced ?? 0), ...relaxedPreferences(levels)],
    errors: [],
  };
  return { plan, relaxed: levels.size };
}

/** The existing and in-flight nodes' costs, split by what is paid for (see `costsOfNode`). */
function currentCosts(input: ProvisioningInput): Costs {
  if (input.nodes.length === 0) return { ...ZERO_COSTS };
  const byName = new Map<string, InstanceType>();
  for (const pool of input.nodePools)
    for (const t of instanceTypesFor(input, pool.name)) if (!byName.has(t.name)) byName.set(t.name, t);
  return sumCosts(input.nodes.map((n) => costsOfNode(n, byName)));
}

/** Per group, how many of its pods the kernel put on new bins (bins E and up). */
function podsOnNewBins(result: KernelResult, groups: number, E: number): Int32Array {
  const out = new Int32Array(groups);
  for (let i = 0; i < result.placements.length; i += 3) {
    const g = result.placements[i] as number;
    if ((result.placements[i + 1] as number) >= E)
      out[g] = (out[g] as number) + (result.placements[i + 2] as number);
  }
  return out;
}

/** The pods a topology bundle (a hostname self-affinity set packed as one pod) stands for. */
function unbundle(topo: TopologyResult | undefined, pods: readonly Pod[]): readonly Pod[] {
  return topo === undefined || topo.bundles.size === 0
    ? pods
    : pods.flatMap((p) => topo.bundles.get(p) ?? [p]);
}

/**
 * Constraints the solver does not enforce are reported, never silently dropped: hostname self-affinity
 * sets (each packed as one pod) of which two or more have several pods counted by one hostname topology
 * spread.
 */
function unenforcedConstraints(count: number): Plan["warnings"] {
  if (count === 0) return [];
  return [
    {
      code: "constraint_not_enforced",
      message: `${count} pending pods kept on one node by required hostname pod affinity share a hostname topology spread with another such set: their nodes may exceed its maxSkew`,
    },
  ];
}

/** Pods scheduled only after dropping preferences (Karpenter logs these as relaxed). */
function relaxedPreferences(levels: ReadonlyMap<string, number>): Plan["warnings"] {
  const pods = [...levels.keys()].sort();
  if (pods.length === 0) return [];
  const shown = pods.slice(0, 5).join(", ");
  return [
    {
      code: "preference_relaxed",
      message: `${pods.length} pods had preferences relaxed to schedule (or to be reported): ${shown}${pods.length > 5 ? ", ..." : ""}`,
    },
  ];
}

/**
 * Relaxes one preference step of every unplaced pod that still has one. Returns whether any relaxed.
 */
function relax(
  enc: Encoding,
  topo: TopologyResult | undefined,
  result: KernelResult,
  levels: Map<string, number>,
  steps: ReadonlyMap<string, number>,
): boolean {
  const failed: Pod[] = [...(topo?.failures.map((f) => f.pod) ?? [])];
  enc.groups.forEach((group, g) => {
    const left = result.unplaced[g] as number;
    if (left > 0) failed.push(...unbundle(topo, group.pods.slice(group.pods.length - left)));
  });
  let changed = false;
  for (const pod of failed) {
    const k = key(pod);
    const level = levels.get(k) ?? 0;
    if (level < (steps.get(k) ?? 0)) {
      levels.set(k, level + 1);
      changed = true;
    }
  }
  return changed;
}

/** The LP bound over `enc`'s groups for their pods in `onNew` (pod keys). */
function boundOverGroups(enc: Encoding, onNew: ReadonlySet<string>): LowerBoundResult {
  return lowerBoundFor(
    enc,
    enc.groups.map((g) => g.pods.filter((p) => onNew.has(key(p))).length),
  ).bound;
}

/**
 * The LP bound for the pods placed on new claims, under their own constraints (no preference made a
 * requirement) and, when the relaxation can add it, the PreferNoSchedule toleration: the loosest
 * constraints a pod may end up scheduled with.
 */
function boundOnOwnConstraints(
  input: ProvisioningInput,
  onNew: ReadonlySet<string>,
  toleratePreferNoSchedule: boolean,
): LowerBoundResult {
  const own = encode(
    toleratePreferNoSchedule
      ? {
          ...input,
          pods: input.pods.map((p) => (isProvisionable(p) ? withPreferNoScheduleToleration(p) : p)),
        }
      : input,
  );
  return boundOverGroups(own, onNew);
}

/**
 * The exact bound (exact-bound.ts) for the pods on `claims` when they are few, over their own
 * constraints (no preference made a requirement, no topology pin) and, when the relaxation can add it,
 * the PreferNoSchedule toleration: the loosest constraints they may end up scheduled with.
 */
function exactOverOwnConstraints(
  input: ProvisioningInput,
  claims: readonly PlannedNodeClaim[],
  toleratePreferNoSchedule: boolean,
): ProvenBound | undefined {
  let count = 0;
  for (const c of claims) count += c.pods.length;
  if (count === 0 || count > EXACT_BOUND_PODS) return undefined;
  const onClaims = new Set(claims.flatMap((c) => c.pods));
  const pods = input.pods
    .filter((p) => isProvisionable(p) && onClaims.has(key(p)))
    .map((p) => (toleratePreferNoSchedule ? withPreferNoScheduleToleration(p) : p));
  const own = encode({ ...input, pods, nodes: [] });
  return exactBound(
    own,
    Int32Array.from(own.groups, (g) => g.pods.length),
  );
}

/**
 * After a solve, caps each (group, pinned domain) that left pods unplaced at what it took. Returns
 * whether a cap changed (then pinning is redone).
 */
function tightenCaps(topo: TopologyResult, result: KernelResult, caps: DomainCaps): boolean {
  const placed = new Map<string, number>();
  const short = new Set<string>();
  topo.origin.forEach(({ group, pins }, s) => {
    const left = result.unplaced[s] as number;
    const n = (topo.enc.groups[s] as PodGroup).pods.length - left;
    for (const pin of pins) {
      const k = `${group}|${pin}`;
      placed.set(k, (placed.get(k) ?? 0) + n);
      if (left > 0) short.add(k);
    }
  });
  let changed = false;
  for (const k of short) {
    const n = placed.get(k) as number;
    if ((caps.get(k) ?? Number.POSITIVE_INFINITY) > n) {
      caps.set(k, n);
      changed = true;
    }
  }
  return changed;
}

/** Only used-up capacity reservations stopped the group: no available offering in the first NodePool offering one. */
function reservationsUsedUp(enc: Encoding, group: PodGroup): UnschedulableReason {
  const row = enc.classOfferings[group.constraintClass] as Uint8Array;
  const capGroup = enc.problem.offerings.capGroup;
  const t = enc.offerings.findIndex((_, t) => row[t] === 1 && (capGroup[t] as number) >= 0);
  const nodePool = enc.offerings[t]?.nodePool.name;
  return nodePool === undefined
    ? { code: "no_available_offering" }
    : { code: "no_available_offering", nodePool };
}

/** The LP bound for `podsPerGroup[g]` pods of each group; classes are keyed by compatible offerings. */
function lowerBoundFor(
  enc: Encoding,
  podsPerGroup: ArrayLike<number>,
): { bound: LowerBoundResult; groupClass: Int32Array } {
  // Reserved offerings carry their reservation's launch cap (the kernel's cap group), keyed as encoded.
  const { capGroup } = enc.problem.offerings;
  const offerings: BoundOffering[] = enc.offerings.map((o, t) => {
    const cap = capGroup[t] as number;
    return {
      key: o.key,
      pricePerHour: o.offering.pricePerHour,
      allocatable: o.allocatable,
      ...(cap < 0
        ? {}
        : {
            reservation: {
              id: o.offering.reservationId ?? `${o.instanceType.name}/${o.offering.zone}`,
              capacity: enc.problem.capGroups.maxBins[cap] as number,
            },
          }),
    };
  });
  const classIndex = new Map<string, number>();
  const classes: (BoundClass & { demand: Record<string, number> })[] = [];
  const groupClass = new Int32Array(enc.groups.length).fill(-1);
  // Topology's subgroups share their group's requests and constraint class: test offerings once per pair.
  const seen = new Map<ResourceVector, Map<number, { compatible: number[]; k: string }>>();
  enc.groups.forEach((group, g) => {
    const n = podsPerGroup[g] as number;
    if (n === 0) return;
    const byClass = seen.get(group.requests) ?? new Map<number, { compatible: number[]; k: string }>();
    seen.set(group.requests, byClass);
    let known = byClass.get(group.constraintClass);
    if (known === undefined) {
      const row = enc.classOfferings[group.constraintClass] as Uint8Array;
      const compatible: number[] = [];
      for (let t = 0; t < row.length; t++) {
        if (row[t] === 1 && fitsAlone(group.requests, (enc.offerings[t] as EncodedOffering).allocatable))
          compatible.push(t);
      }
      known = { compatible, k: compatible.join(",") };
      byClass.set(group.constraintClass, known);
    }
    const { compatible, k } = known;
    let c = classIndex.get(k);
    if (c === undefined) {
      c = classes.length;
      classIndex.set(k, c);
      classes.push({ pods: 0, demand: {}, compatible });
    }
    groupClass[g] = c;
    const cls = classes[c] as BoundClass & { demand: Record<string, number> };
    cls.pods += n;
    for (const [r, v] of Object.entries(group.requests)) cls.demand[r] = (cls.demand[r] ?? 0) + v * n;
  });
  return { bound: computeLowerBound(offerings, classes), groupClass };
}

/**
 * Each group's value per pod in micro-dollars: its requests at its class's dual rates. Groups the LP
 * could not price (zero rates on everything they request) get a small positive value.
 */
function setGroupValues(enc: Encoding, { bound, groupClass }: ReturnType<typeof lowerBoundFor>): void {
  const value = enc.problem.groups.value;
  let min = Number.POSITIVE_INFINITY;
  enc.groups.forEach((group, g) => {
    const c = groupClass[g] as number;
    let v = 0;
    if (c >= 0) {
      const rates = bound.classRates[c] as number[];
      bound.certificate.resources.forEach((r, i) => {
        v += (group.requests[r] ?? 0) * (rates[i] as number);
      });
    }
    value[g] = v * 1e6;
    if (v > 0) min = Math.min(min, v * 1e6);
  });
  const floor = Number.isFinite(min) ? min * 1e-3 : 1;
  for (let g = 0; g < value.length; g++) if (!((value[g] as number) > 0)) value[g] = floor;
}

/** Runs the kernel, growing the output regions until they are large enough. */
function solveWithCapacity(kernel: Kernel, problem: EncodedProblem): KernelResult {
  let pods = 0;
  for (const c of problem.groups.counts) pods += c;
  let maxBins = Math.min(Math.max(16, Math.ceil(pods / 8) + problem.groups.count), Math.max(1, pods));
  let maxPlacements = Math.max(64, 4 * maxBins + 2 * problem.groups.count + problem.existing.count);
  for (;;) {
    problem.options.maxBins = maxBins;
    problem.options.maxPlacements = maxPlacements;
    const result = kernel.solve(problem);
    if (result.status === ERROR_TOO_MANY_BINS && maxBins < pods) {
      maxBins = Math.min(pods, maxBins * 4);
      maxPlacements = Math.max(maxPlacements, 4 * maxBins);
      continue;
    }
    if (result.status === ERROR_TOO_MANY_PLACEMENTS) {
      maxPlacements *= 4;
      continue;
    }
    if (result.status < 0) throw new Error(`packing kernel failed with status ${result.status}`);
    return result;
  }
}

/** Per-encoding lookup tables that make decoding a claim O(set bits) with no sorting. */
interface DecodeTables {
  typeIndex: Int32Array;
  typeStamp: Int32Array;
  stamp: number;
  /** Decoded option sets by a hash of their bitset: replicated bins share one, so each is walked once. */
  decoded: Map<number, { words: Uint32Array; decoded: DecodedOptions }[]>;
  last?: { words: Uint32Array; decoded: DecodedOptions };
  /** Per option set: as minValues leaves it (see minValuesVerdict). */
  minValues: WeakMap<DecodedOptions, MinValuesVerdict>;
  /** Per NodePool with minValues: each instance type's labels, with its name under the instance-type key. */
  typeLabels: Map<NodePool, Map<string, Record<string, string>>>;
}

/** A bin's option set in NodeClaim terms: instance types by price, zones, capacity types, worst price. */
interface DecodedOptions {
  options: readonly string[];
  zones: readonly string[];
  capacityTypes: readonly string[];
  worst: number;
}

/**
 * A bin's launch options. A reserved claim launches into the reservation the kernel charged it to, so
 * its options are that reservation's offerings in the set. Any other claim leaves reserved offerings
 * out, and when it may launch both spot and on-demand, spot offerings priced above its cheapest
 * on-demand offering go too (Karpenter's SpotInstanceFilter, per offering).
 */
function decodeOptions(
  enc: Encoding,
  tables: DecodeTables,
  result: KernelResult,
  b: number,
  W: number,
  maxTypes: number,
): DecodedOptions {
  const words = result.binOptions.subarray(b * W, b * W + W);
  const chosen = (enc.offerings[result.binOffering[b] as number] as EncodedOffering).offering;
  if (chosen.capacityType === "reserved") return walkOptions(enc, tables, words, maxTypes, chosen);
  // Bins of one option set are usually neighbours: compare with the previous bin's before hashing.
  if (tables.last !== undefined && sameWords(tables.last.words, words)) return tables.last.decoded;
  let hash = 2166136261;
  for (let w = 0; w < W; w++) hash = Math.imul(hash ^ (words[w] as number), 16777619);
  const bucket = tables.decoded.get(hash);
  const hit = bucket?.find((e) => sameWords(e.words, words));
  if (hit !== undefined) {
    tables.last = hit;
    return hit.decoded;
  }
  const decoded = walkOptions(enc, tables, words, maxTypes, undefined);
  const entry = { words: Uint32Array.from(words), decoded };
  if (bucket === undefined) tables.decoded.set(hash, [entry]);
  else bucket.push(entry);
  tables.last = entry;
  return decoded;
}

/** The options of a set: of `reservation`'s offerings when given, else of its spot and on-demand offerings. */
function walkOptions(
  enc: Encoding,
  tables: DecodeTables,
  words: Uint32Array,
  maxTypes: number,
  reservation: Offering | undefined,
  keep?: ReadonlySet<string>,
): DecodedOptions {
  const W = words.length;
  // Offerings are encoded cheapest first (ties by capacity type, then name), so walking the set bits
  // in order meets each instance type first at its cheapest offering: the options come out in price
  // order unsorted. A set is one NodePool's, so the first on-demand offering met is the cheapest, and
  // a spot offering met before it is no dearer.
  const stamp = ++tables.stamp;
  const options: string[] = [];
  const zones = new Set<string>();
  const capacityTypes = new Set<string>();
  let worst = 0;
  let spotCeiling = Number.POSITIVE_INFINITY;
  for (let w = 0; w < W; w++) {
    let word = words[w] as number;
    while (word !== 0) {
      const low = word & -word;
      const t = w * 32 + (31 - Math.clz32(low));
      word = (word ^ low) >>> 0;
      const ti = tables.typeIndex[t] as number;
      const o = enc.offerings[t] as EncodedOffering;
      const { capacityType, pricePerHour } = o.offering;
      if (keep !== undefined && !keep.has(o.instanceType.name)) continue;
      if (reservation !== undefined) {
        if (capacityType !== "reserved" || o.offering.reservationId !== reservation.reservationId) continue;
      } else if (capacityType === "reserved" || (capacityType === "spot" && pricePerHour > spotCeiling)) {
        continue;
      } else if (capacityType === "on-demand" && spotCeiling === Number.POSITIVE_INFINITY) {
        spotCeiling = pricePerHour;
      }
      if (tables.typeStamp[ti] !== stamp) {
        if (tables.typeStamp[ti] === -stamp || options.length >= maxTypes) {
          tables.typeStamp[ti] = -stamp;
          continue;
        }
        tables.typeStamp[ti] = stamp;
        options.push(o.instanceType.name);
      }
      zones.add(o.offering.zone);
      capacityTypes.add(capacityType);
      if (pricePerHour > worst) worst = pricePerHour;
    }
  }
  return { options, zones: [...zones].sort(), capacityTypes: [...capacityTypes].sort(), worst };
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeTables(enc: Encoding): DecodeTables {
  const index = new Map<InstanceType, number>();
  const typeIndex = new Int32Array(enc.offerings.length);
  enc.offerings.forEach((o, t) => {
    let i = index.get(o.instanceType);
    if (i === undefined) {
      i = index.size;
      index.set(o.instanceType, i);
    }
    typeIndex[t] = i;
  });
  return {
    typeIndex,
    typeStamp: new Int32Array(index.size),
    stamp: 0,
    decoded: new Map(),
    minValues: new WeakMap(),
    typeLabels: new Map(),
  };
}

function decodeClaim(
  enc: Encoding,
  tables: DecodeTables,
  result: KernelResult,
  b: number,
  W: number,
  pods: Pod[],
  maxTypes: number,
  input: ProvisioningInput,
  counters: Map<string, number>,
): { claim: PlannedNodeClaim; short: MinValuesShortfall | undefined } {
  const chosen = enc.offerings[result.binOffering[b] as number] as EncodedOffering;
  const pool = chosen.nodePool;
  const plain = decodeOptions(enc, tables, result, b, W, maxTypes);
  let verdict = tables.minValues.get(plain);
  if (verdict === undefined) {
    verdict = minValuesVerdict(
      enc,
      tables,
      result.binOptions.subarray(b * W, b * W + W),
      plain,
      pool,
      maxTypes,
    );
    tables.minValues.set(plain, verdict);
  }
  const { decoded, short } = verdict;
  const { options, zones, capacityTypes, worst } = decoded;
  // A reserved claim names its reservation (Karpenter's FinalizeScheduling), as requirement and label.
  const reservation = chosen.offering.capacityType === "reserved" ? chosen.offering.reservationId : undefined;
  const narrowed = new Set([
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "karpenter.sh/capacity-type",
    "karpenter.sh/nodepool",
    ...(reservation === undefined ? [] : [LABEL_CAPACITY_RESERVATION_ID]),
  ]);
  const requirements: NodeSelectorRequirement[] = [
    ...pool.template.requirements.filter((r) => !narrowed.has(r.key)),
    ...podSelectorRequirements(pods, pool.template.requirements, narrowed),
    // Option lists are shared by every claim of one option set (tens of thousands of claims at 100k pods):
    // plans are data, never mutated, and copying 600 names per claim was most of the heap.
    { key: "karpenter.sh/capacity-type", operator: "In", values: capacityTypes as string[] },
    { key: "karpenter.sh/nodepool", operator: "In", values: [pool.name] },
    { key: "node.kubernetes.io/instance-type", operator: "In", values: options as string[] },
    { key: "topology.kubernetes.io/zone", operator: "In", values: zones as string[] },
    ...(reservation === undefined
      ? []
      : [{ key: LABEL_CAPACITY_RESERVATION_ID, operator: "In" as const, values: [reservation] }]),
  ];
  const index = counters.get(pool.name) ?? 0;
  counters.set(pool.name, index + 1);
  const name = input.options?.claimName?.(pool.name, index) ?? `${pool.name}-${index}`;
  const claim: PlannedNodeClaim = {
    name,
    nodePool: pool.name,
    instanceType: chosen.instanceType.name,
    instanceTypeOptions: options as string[],
    zone: chosen.offering.zone,
    capacityType: chosen.offering.capacityType,
    pricePerHour: chosen.offering.pricePerHour,
    costs: offeringCosts(chosen.offering),
    worstPricePerHour: worst,
    requirements,
    daemonSetOverhead: chosen.overhead,
    pods: pods.map(key),
    ...(reservation === undefined ? {} : { labels: { [LABEL_CAPACITY_RESERVATION_ID]: reservation } }),
  };
  return { claim, short };
}

/** An option set as minValues leaves it, and the first key still short of its minValues. */
interface MinValuesVerdict {
  decoded: DecodedOptions;
  short: MinValuesShortfall | undefined;
}

/**
 * The NodePool's minValues against an option set (instance types' labels, its zones and capacity
 * types). When the plain cut to `maxTypes` loses a value the whole set has (Karpenter fails or relaxes
 * there), the options are cut again to keep it. Strict drops a claim still short; BestEffort annotates it.
 */
function minValuesVerdict(
  enc: Encoding,
  tables: DecodeTables,
  words: Uint32Array,
  decoded: DecodedOptions,
  pool: NodePool,
  maxTypes: number,
): MinValuesVerdict {
  const withMin = pool.template.requirements.filter((r) => r.minValues !== undefined);
  if (withMin.length === 0) return { decoded, short: undefined };
  const reqs = Requirements.fromNodeSelectorRequirements(withMin);
  let labelsOf = tables.typeLabels.get(pool);
  if (labelsOf === undefined) {
    labelsOf = new Map();
    for (const o of enc.offerings)
      if (o.nodePool === pool && !labelsOf.has(o.instanceType.name))
        labelsOf.set(o.instanceType.name, {
          ...o.instanceType.labels,
          "node.kubernetes.io/instance-type": o.instanceType.name,
        });
    tables.typeLabels.set(pool, labelsOf);
  }
  const labels = labelsOf;
  const candidate = (name: string): MinValuesCandidate => ({ labels: labels.get(name) ?? {} });
  const fixed = (d: DecodedOptions): MinValuesCandidate[] => [
    ...d.zones.map((z) => ({ labels: { "topology.kubernetes.io/zone": z } })),
    ...d.capacityTypes.map((c) => ({ labels: { "karpenter.sh/capacity-type": c } })),
  ];
  const shortOf = (d: DecodedOptions) => checkMinValues(reqs, [...d.options.map(candidate), ...fixed(d)])[0];
  const short = shortOf(decoded);
  if (short === undefined || decoded.options.length < maxTypes) return { decoded, short };
  const full = walkOptions(enc, tables, words, Number.POSITIVE_INFINITY, undefined);
  const cut = truncateKeepingMinValues(
    full.options.length,
    maxTypes,
    (i) => candidate(full.options[i] as string),
    reqs,
    fixed(full),
  );
  if (cut === undefined) return { decoded, short };
  const kept = walkOptions(
    enc,
    tables,
    words,
    Number.POSITIVE_INFINITY,
    undefined,
    new Set(cut.map((i) => full.options[i] as string)),
  );
  return { decoded: kept, short: shortOf(kept) };
}

/** nodeSelector labels of the claim's pods on keys the NodePool leaves open become claim requirements. */
function podSelectorRequirements(
  pods: readonly Pod[],
  poolRequirements: readonly NodeSelectorRequirement[],
  narrowed: Set<string>,
): NodeSelectorRequirement[] {
  const values = new Map<string, string>();
  for (const p of pods)
    for (const [k, v] of Object.entries(p.nodeSelector)) if (!narrowed.has(k)) values.set(k, v);
  return [...values.entries()]
    .filter(
      ([k]) => !poolRequirements.some((r) => r.key === k && r.operator === "In" && r.values.length === 1),
    )
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([k, v]) => ({ key: k, operator: "In" as const, values: [v] }));
}

/** What each NodePool uses after the plan: existing capacity plus each claim's largest option (Karpenter's accounting). */
function poolUsage(
  input: ProvisioningInput,
  claims: readonly PlannedNodeClaim[],
): Map<string, Record<string, number>> {
  const usage = new Map<string, Record<string, number>>();
  const add = (pool: string, v: ResourceVector) => {
    const u = usage.get(pool) ?? {};
    for (const [k, x] of Object.entries(v)) u[k] = (u[k] ?? 0) + x;
    usage.set(pool, u);
  };
  for (const n of input.nodes) if (n.nodePool !== undefined) add(n.nodePool, { ...n.capacity, nodes: 1 });
  const typesByPool = new Map<string, Map<string, InstanceType>>();
  for (const c of claims) {
    let types = typesByPool.get(c.nodePool);
    if (types === undefined) {
      types = new Map(instanceTypesFor(input, c.nodePool).map((t) => [t.name, t]));
      typesByPool.set(c.nodePool, types);
    }
    const max: Record<string, number> = { nodes: 1 };
    for (const name of c.instanceTypeOptions) {
      for (const [k, v] of Object.entries(types.get(name)?.capacity ?? {})) max[k] = Math.max(max[k] ?? 0, v);
    }
    add(c.nodePool, max);
  }
  return usage;
}

function key(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
