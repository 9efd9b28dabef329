import {
  type EncodedProblem,
  ERROR_TOO_MANY_BINS,
  ERROR_TOO_MANY_PLACEMENTS,
  type Kernel,
  type KernelResult,
  REASON_CLASS_CAP,
  REASON_LAUNCH_CAP,
} from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { type Costs, costsOfNode, offeringCosts, sumCosts, ZERO_COSTS } from "../costs.ts";
import { deepFreeze } from "../frozen.ts";
import { claimCharge, nodePoolUsage } from "../limits.ts";
import { type InstanceType, type Pod, podKey, type ResourceVector, type Taint } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import { decodeClaims, placePods, unbundle } from "./decode.ts";
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
import { type ProvenBound, patternBound } from "./pattern-bound.ts";
import { newBinsCost, packByPatterns } from "./pattern-packing.ts";
import { solvePatternLP } from "./patterns.ts";
import {
  type PreferencePolicy,
  preferNoScheduleTaints,
  relaxationSteps,
  withPreferences,
  withPreferNoScheduleToleration,
} from "./preferences.ts";
import {
  applyTopology,
  type DomainCaps,
  type DomainCounts,
  domainCount,
  needsTopology,
  type Pin,
  setDomainCount,
  type TopologyResult,
} from "./topology.ts";

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
  const usage = nodePoolUsage(input.nodes);
  for (const pool of input.nodePools) {
    const used = usage.get(pool.name) ?? {};
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
  if (bestInput === input || input.options?.bound === false) return best.plan;
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

/**
 * The proven bound nodeplan gives a plan whose new claims another algorithm chose (the `karpenter`
 * strategy's): the LP over the claims' pods under their own constraints (no preference made a
 * requirement; the PreferNoSchedule toleration where the relaxation can add it), or the exact optimum
 * of covering them when they are few (exact-bound.ts), whichever is higher.
 */
export function boundForClaims(
  input: ProvisioningInput,
  claims: readonly PlannedNodeClaim[],
): ProvenBound & { description: string } {
  const onNew = new Set(claims.flatMap((c) => c.pods));
  const tolerate = preferNoScheduleTaints(input.nodePools, input.nodes).length > 0;
  let bound: ProvenBound = boundOnOwnConstraints(input, onNew, tolerate);
  if (input.options?.exactBound !== false) {
    const exact = exactOverOwnConstraints(input, claims, tolerate);
    if (exact !== undefined && exact.lowerBoundPerHour > bound.lowerBoundPerHour) bound = exact;
  }
  return { ...bound, description: describeLowerBound(bound.method) };
}

/** A plan and how many pods it relaxed preferences of. */
interface Attempt {
  plan: Plan;
  relaxed: number;
}

/**
 * One plan, in stages that each take and return values: relaxation and cap rounds (each round values
 * the groups by the LP and packs), the pattern stage, decoding, diagnosis of what stayed pending, and
 * the choice of bound. `catalog` (default the input's) is the whole catalog, where topology spread
 * finds its domains.
 */
function provisionOnce(
  kernel: Kernel,
  input: ProvisioningInput,
  catalog: ProvisioningInput["instanceTypes"] = input.instanceTypes,
): Attempt {
  const prefs = preferencesOf(input);
  const packed = packRounds(kernel, input, catalog, prefs);
  const { enc, topo, levels } = packed;
  const improved = prefs.preferring ? { result: packed.result } : patternStage(kernel, input, packed);
  const { result } = improved;
  const placed = placePods(enc, result, topo);
  const decoded = decodeClaims(enc, result, placed.binPods, input);
  const { nodeClaims } = decoded;
  const placements: Plan["placements"] = [
    ...placed.existing.map(({ pod, node }) => ({ pod: podKey(pod), node })),
    ...nodeClaims.flatMap((c) => c.pods.map((p) => ({ pod: p, node: c.name }))),
  ];
  const unschedulable = [...decoded.unschedulable, ...unplacedPods(input, enc, result, topo, nodeClaims)];
  unschedulable.sort((a, b) => cmp(a.pod, b.pod));
  placements.sort((a, b) => cmp(a.pod, b.pod));
  const bound: ProvenBound =
    input.options?.bound === false
      ? NO_BOUND
      : chooseBound({
          input,
          prefs,
          base: packed.base,
          enc,
          topo,
          result,
          upfront: packed.upfront,
          resourceBound: improved.resourceBound,
          patternProof: improved.patternProof,
          nodeClaims,
          dropped: decoded.dropped,
        });
  const warnings = [...unenforcedConstraints(topo?.unenforced ?? 0), ...relaxedPreferences(levels)];
  return {
    plan: planOf(input, { nodeClaims, placements, unschedulable }, bound, warnings),
    relaxed: levels.size,
  };
}

/** The trivial bound, when the caller asked for none (`options.bound: false`). */
const NO_BOUND: ProvenBound = { lowerBoundPerHour: 0, method: "none (not computed)", certificate: null };

/** How preferences are scheduled: the policy, the PreferNoSchedule taints, each pending pod's relaxation steps. */
interface PreferenceSetup {
  policy: PreferencePolicy;
  preferNoSchedule: Taint[];
  /** Some pending pod has a relaxation step: preferences are scheduled as requirements first. */
  preferring: boolean;
  /** Relaxation steps per pending pod key (empty when not preferring). */
  steps: ReadonlyMap<string, number>;
}

function preferencesOf(input: ProvisioningInput): PreferenceSetup {
  const pending = input.pods.filter(isProvisionable);
  const preferNoSchedule = preferNoScheduleTaints(input.nodePools, input.nodes);
  const preferring = pending.some((p) => relaxationSteps(p, preferNoSchedule) > 0);
  return {
    policy: input.options?.preferencePolicy ?? "Respect",
    preferNoSchedule,
    preferring,
    steps: new Map(preferring ? pending.map((p) => [podKey(p), relaxationSteps(p, preferNoSchedule)]) : []),
  };
}

/** One packing: the encoding solved (topology's refinement of `base` when it has constraints), and its LP. */
interface Round {
  topo: TopologyResult | undefined;
  enc: Encoding;
  /** The LP over all of `enc`'s pods, which valued its groups. */
  upfront: ReturnType<typeof lowerBoundFor>;
  result: KernelResult;
}

/** The last round of `packRounds`, with the encoding before topology and the relaxation levels reached. */
interface Packed extends Round {
  base: Encoding;
  /** Relaxation steps taken per pod key (only pods that relaxed). */
  levels: ReadonlyMap<string, number>;
}

/**
 * Rounds of packing to a fixed point. Pods pinned to a domain that could not take them all: that domain
 * is capped at what it took and pinning redone, so the spread is recomputed over what really fits
 * (always to its fixed point: caps only fall, so it ends; a pinned pod left unplaced was counted in its
 * domain when the others were pinned, and a plan stopped there breaks their skew). Then, under
 * preferences, every unplaced pod relaxes one step and pinning starts over with no caps; bounded, as
 * relaxing and capping can alternate.
 */
function packRounds(
  kernel: Kernel,
  input: ProvisioningInput,
  catalog: ProvisioningInput["instanceTypes"],
  prefs: PreferenceSetup,
): Packed {
  let levels: ReadonlyMap<string, number> = new Map();
  let caps: DomainCaps = new Map();
  let scheduled: Scheduled = { input, asWritten: new Map() };
  let base = prefs.preferring ? undefined : encode(input);
  for (let round = 0; ; round++) {
    if (base === undefined || (prefs.preferring && caps.size === 0)) {
      scheduled = withLevels(input, levels, prefs);
      base = encode(scheduled.input);
    }
    const packed = packRound(kernel, scheduled, base, caps, catalog);
    const tighter = packed.topo === undefined ? undefined : tightenCaps(packed.topo, packed.result, caps);
    if (tighter !== undefined) {
      caps = tighter;
      continue;
    }
    const relaxed =
      round >= MAX_RELAX_ROUNDS || !prefs.preferring
        ? undefined
        : relax(packed.enc, packed.topo, packed.result, levels, prefs.steps);
    if (relaxed === undefined) return { ...packed, base, levels };
    levels = relaxed;
    caps = new Map();
  }
}

/** The input with preferences as requirements, relaxed `levels` steps per pod (Karpenter's order). */
interface Scheduled {
  input: ProvisioningInput;
  /** Per pod key, the pod as written, for each pending pod scheduled as another. */
  asWritten: ReadonlyMap<string, Pod>;
}

function withLevels(
  input: ProvisioningInput,
  levels: ReadonlyMap<string, number>,
  prefs: PreferenceSetup,
): Scheduled {
  const asWritten = new Map<string, Pod>();
  const pods = input.pods.map((p) => {
    if (!isProvisionable(p)) return p;
    const scheduled = withPreferences(p, levels.get(podKey(p)) ?? 0, prefs.policy, prefs.preferNoSchedule);
    if (scheduled !== p) asWritten.set(podKey(p), p);
    return scheduled;
  });
  return { input: { ...input, pods }, asWritten };
}

/**
 * One round: topology's refinement under `caps`, then values first (the LP over all pending pods prices
 * each pod group in dollars, which is what the kernel's cost-aware offering choice maximizes per
 * dollar), then the kernel.
 */
function packRound(
  kernel: Kernel,
  scheduled: Scheduled,
  base: Encoding,
  caps: DomainCaps,
  catalog: ProvisioningInput["instanceTypes"],
): Round {
  const { input, asWritten } = scheduled;
  const topo = needsTopology(input, base)
    ? applyTopology(input, base, { caps, catalog, asWritten })
    : undefined;
  const enc = topo?.enc ?? base;
  const upfront = lowerBoundFor(
    enc,
    enc.groups.map((g) => g.pods.length),
  );
  setGroupValues(enc, upfront);
  return { topo, enc, upfront, result: solveWithCapacity(kernel, enc.problem) };
}

/** What the pattern stage leaves: the (possibly better) packing, the resource bound, the pattern bound. */
interface Improved {
  result: KernelResult;
  /** The LP bound over the pods the kernel put on new bins. */
  resourceBound?: ProvenBound;
  /** The pattern LP's bound, when it is tighter than `resourceBound`. */
  patternProof?: ProvenBound;
}

/**
 * Where the plan is visibly above the resource bound, indivisible pods are usually why (small nodes):
 * the pattern LP proves a tighter bound and guides a second packing, kept when cheaper. Not under
 * relaxed preferences, whose bound is taken over the pods' own constraints.
 */
function patternStage(kernel: Kernel, input: ProvisioningInput, packed: Round): Improved {
  const { enc, topo, upfront } = packed;
  let { result } = packed;
  const onNewKernel = podsOnNewBins(result, enc.groups.length, enc.existing.length);
  const all = enc.groups.every((g, i) => onNewKernel[i] === g.pods.length);
  const resourceBound = all ? upfront.bound : lowerBoundFor(enc, onNewKernel).bound;
  let cost = newBinsCost(enc.problem, result);
  if (
    input.options?.patterns === false ||
    !(cost / 1e6 > resourceBound.lowerBoundPerHour * (1 + PATTERN_TRIGGER))
  )
    return { result, resourceBound };
  const prices = enc.offerings.map((o) => o.offering.pricePerHour);
  const patterns = solvePatternLP(
    enc.problem,
    onNewKernel,
    { provenPerHour: resourceBound.lowerBoundPerHour, planPerHour: cost / 1e6 },
    prices,
  );
  if (patterns === undefined) return { result, resourceBound };
  for (const integral of [false, true]) {
    const guided = packByPatterns(kernel, enc, result, onNewKernel, patterns, solveWithCapacity, integral);
    const guidedCost = guided === undefined ? Number.POSITIVE_INFINITY : newBinsCost(enc.problem, guided);
    if (guided !== undefined && guidedCost < cost) {
      result = guided;
      cost = guidedCost;
    }
  }
  // Topology pins pods to domains the solver chose, not ones their constraints force: a bound over
  // pinned groups would bound this assignment only, so it is not claimed then.
  const proven = topo === undefined ? patternBound(enc, onNewKernel, patterns) : undefined;
  const tighter = proven !== undefined && proven.lowerBoundPerHour > resourceBound.lowerBoundPerHour;
  return tighter ? { result, resourceBound, patternProof: proven } : { result, resourceBound };
}

/**
 * The pods the kernel left unplaced, each with the most specific reason (a topology cap, used-up
 * reservations, or the diagnosis over the NodePools), and the pods topology could not pin.
 */
function unplacedPods(
  input: ProvisioningInput,
  enc: Encoding,
  result: KernelResult,
  topo: TopologyResult | undefined,
  nodeClaims: readonly PlannedNodeClaim[],
): Plan["unschedulable"] {
  const out: Plan["unschedulable"] = [];
  // Only a failed group needs the NodePools' usage (to name the limit that stopped it).
  let usage: Map<string, ResourceVector> | undefined;
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
    for (const pod of unbundle(topo, group.pods.slice(group.pods.length - left)))
      out.push({ pod: podKey(pod), reason, message: renderUnschedulable(reason) });
  });
  for (const f of topo?.failures ?? [])
    out.push({ pod: podKey(f.pod), reason: f.reason, message: renderUnschedulable(f.reason) });
  return out;
}

/** What the bound is chosen from: the solve's stages and the plan's claims. */
interface BoundInputs {
  input: ProvisioningInput;
  prefs: PreferenceSetup;
  base: Encoding;
  enc: Encoding;
  topo: TopologyResult | undefined;
  result: KernelResult;
  upfront: ReturnType<typeof lowerBoundFor>;
  resourceBound: ProvenBound | undefined;
  patternProof: ProvenBound | undefined;
  nodeClaims: readonly PlannedNodeClaim[];
  dropped: ReadonlySet<string>;
}

/** The facts the bound cases test, computed once. */
interface BoundFacts extends BoundInputs {
  /** Per group, its pods on the plan's new claims. */
  onNew: Int32Array;
  /** The pods on new claims, where a claim was dropped or preferences were made requirements. */
  onNewPods: ReadonlySet<string> | undefined;
}

/**
 * The bound over the pods the plan puts on new claims, by case: the first that answers is taken, and
 * where none does, the LP over exactly those pods. A tighter pattern bound or exact optimum then
 * replaces it (see `chooseBound`).
 */
const BOUND_CASES: readonly ((f: BoundFacts) => ProvenBound | undefined)[] = [
  // A hostname self-affinity bundle is one pod in the first member's constraint class; the bound values
  // each member in its own class (as the verifier does), so it is taken over the encoding before topology.
  (f) =>
    !f.prefs.preferring && f.topo !== undefined && f.topo.bundles.size > 0
      ? boundOverGroups(f.base, new Set(f.nodeClaims.flatMap((c) => c.pods)))
      : undefined,
  // Usually every pending pod lands on a new claim: then the LP is the one already solved.
  (f) =>
    !f.prefs.preferring && f.enc.groups.every((g, i) => f.onNew[i] === g.pods.length)
      ? f.upfront.bound
      : undefined,
  // Preferences made requirements only narrow a plan: its bound is taken over the pods' own constraints.
  (f) =>
    f.prefs.preferring
      ? boundOnOwnConstraints(f.input, f.onNewPods ?? new Set(), f.prefs.preferNoSchedule.length > 0)
      : undefined,
  // The pattern stage's LP covers the pods the kernel put on new bins: the same pods while none was dropped.
  (f) => (f.dropped.size === 0 ? f.resourceBound : undefined),
];

/** The plan's bound: the first of `BOUND_CASES` that answers (else the LP), or a tighter pattern bound or exact optimum. */
function chooseBound(inputs: BoundInputs): ProvenBound {
  const { enc, result, nodeClaims, dropped, prefs, patternProof, input } = inputs;
  // The bound covers exactly the pods the plan puts on new claims.
  const onNew = podsOnNewBins(result, enc.groups.length, enc.existing.length);
  let onNewPods: ReadonlySet<string> | undefined;
  if (dropped.size > 0 || prefs.preferring) {
    const pods = new Set(nodeClaims.flatMap((c) => c.pods));
    enc.groups.forEach((g, i) => {
      onNew[i] = g.pods.filter((p) => pods.has(podKey(p))).length;
    });
    onNewPods = pods;
  }
  const facts: BoundFacts = { ...inputs, onNew, onNewPods };
  let bound = firstAnswer(facts) ?? lowerBoundFor(enc, onNew).bound;
  // The pattern bound covers the pods the kernel put on new claims: valid while no claim was dropped.
  if (
    patternProof !== undefined &&
    dropped.size === 0 &&
    patternProof.lowerBoundPerHour > bound.lowerBoundPerHour
  )
    bound = patternProof;
  // Small problems: the exact optimum of covering the claims' pods, over their own constraints.
  if (input.options?.exactBound !== false) {
    const exact = exactOverOwnConstraints(input, nodeClaims, prefs.preferNoSchedule.length > 0);
    if (exact !== undefined && exact.lowerBoundPerHour > bound.lowerBoundPerHour) bound = exact;
  }
  return bound;
}

function firstAnswer(facts: BoundFacts): ProvenBound | undefined {
  for (const answer of BOUND_CASES) {
    const bound = answer(facts);
    if (bound !== undefined) return bound;
  }
  return undefined;
}

/** The plan: its claims, placements and pending pods, priced, with its bound and warnings. */
function planOf(
  input: ProvisioningInput,
  parts: Pick<Plan, "nodeClaims" | "placements" | "unschedulable">,
  bound: ProvenBound,
  warnings: Plan["warnings"],
): Plan {
  const { nodeClaims } = parts;
  const currentPerHour = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  const newPerHour = nodeClaims.reduce((s, c) => s + c.pricePerHour, 0);
  const breakdown = {
    current: input.options?.currentBreakdown === false ? { ...ZERO_COSTS } : currentCosts(input),
    new: sumCosts(nodeClaims.map((c) => c.costs ?? offeringCosts(c))),
  };
  const lowerBoundPerHour = Math.min(bound.lowerBoundPerHour, newPerHour);
  return {
    nodeClaims,
    placements: parts.placements,
    unschedulable: parts.unschedulable,
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
    warnings,
    errors: [],
  };
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
 * The levels after relaxing one preference step of every unplaced pod that still has one, or undefined
 * when none could relax.
 */
function relax(
  enc: Encoding,
  topo: TopologyResult | undefined,
  result: KernelResult,
  levels: ReadonlyMap<string, number>,
  steps: ReadonlyMap<string, number>,
): ReadonlyMap<string, number> | undefined {
  const failed: Pod[] = [...(topo?.failures.map((f) => f.pod) ?? [])];
  enc.groups.forEach((group, g) => {
    const left = result.unplaced[g] as number;
    if (left > 0) failed.push(...unbundle(topo, group.pods.slice(group.pods.length - left)));
  });
  const next = new Map(levels);
  let changed = false;
  for (const pod of failed) {
    const k = podKey(pod);
    const level = next.get(k) ?? 0;
    if (level < (steps.get(k) ?? 0)) {
      next.set(k, level + 1);
      changed = true;
    }
  }
  return changed ? next : undefined;
}

/** The LP bound over `enc`'s groups for their pods in `onNew` (pod keys). */
function boundOverGroups(enc: Encoding, onNew: ReadonlySet<string>): LowerBoundResult {
  return lowerBoundFor(
    enc,
    enc.groups.map((g) => g.pods.filter((p) => onNew.has(podKey(p))).length),
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
    .filter((p) => isProvisionable(p) && onClaims.has(podKey(p)))
    .map((p) => (toleratePreferNoSchedule ? withPreferNoScheduleToleration(p) : p));
  const own = encode({ ...input, pods, nodes: [] });
  return exactBound(
    own,
    Int32Array.from(own.groups, (g) => g.pods.length),
  );
}

/**
 * After a solve, the caps with each (group, pinned domain) that left pods unplaced capped at what it
 * took, or undefined when no cap changed (else pinning is redone under the new caps).
 */
function tightenCaps(topo: TopologyResult, result: KernelResult, caps: DomainCaps): DomainCaps | undefined {
  const placed: DomainCounts = new Map();
  const short: { group: number; pin: Pin }[] = [];
  topo.origin.forEach(({ group, pins }, s) => {
    const left = result.unplaced[s] as number;
    const n = (topo.enc.groups[s] as PodGroup).pods.length - left;
    for (const pin of pins) {
      setDomainCount(placed, group, pin, (domainCount(placed, group, pin) ?? 0) + n);
      if (left > 0) short.push({ group, pin });
    }
  });
  const tighter = short.filter(
    ({ group, pin }) =>
      (domainCount(caps, group, pin) ?? Number.POSITIVE_INFINITY) >
      (domainCount(placed, group, pin) as number),
  );
  if (tighter.length === 0) return undefined;
  const next: DomainCounts = new Map(
    [...caps].map(([group, byKey]) => [
      group,
      new Map([...byKey].map(([key, byDomain]) => [key, new Map(byDomain)])),
    ]),
  );
  for (const { group, pin } of tighter)
    setDomainCount(next, group, pin, domainCount(placed, group, pin) as number);
  return next;
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
  // Without caps the LP's offerings are the encoded ones' (the same list encoding after encoding, when
  // the catalog is frozen), and so is its answer for the same classes: remembered with them.
  const { capGroup } = enc.problem.offerings;
  const memo = capGroup.some((cap) => cap >= 0) ? undefined : lpMemoFor(enc.offerings);
  const offerings: readonly BoundOffering[] =
    memo?.offerings ??
    enc.offerings.map((o, t) => {
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
  const seen = new Map<ResourceVector, Map<number, Compatible>>();
  enc.groups.forEach((group, g) => {
    const n = podsPerGroup[g] as number;
    if (n === 0) return;
    const byClass = seen.get(group.requests) ?? new Map<number, Compatible>();
    seen.set(group.requests, byClass);
    let known = byClass.get(group.constraintClass);
    if (known === undefined) {
      // Over one offerings list, a class key and requests always give the same compatible offerings.
      let lasting: string | undefined;
      if (memo !== undefined) {
        lasting = `${enc.classKeys[group.constraintClass]}#`;
        for (const r in group.requests) lasting += `${r}=${group.requests[r]},`;
        known = memo.compatible.get(lasting);
      }
      if (known === undefined) {
        const row = enc.classOfferings[group.constraintClass] as Uint8Array;
        const compatible: number[] = [];
        for (let t = 0; t < row.length; t++) {
          if (row[t] === 1 && fitsAlone(group.requests, (enc.offerings[t] as EncodedOffering).allocatable))
            compatible.push(t);
        }
        known = { compatible, k: compatible.join(",") };
        if (lasting !== undefined && memo !== undefined) {
          if (memo.compatible.size >= LP_MEMO_SIZE) memo.compatible.clear();
          memo.compatible.set(lasting, known);
        }
      }
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
  if (memo === undefined) return { bound: computeLowerBound(offerings, classes), groupClass };
  // The LP's whole input besides the offerings: each class's compatible offerings (its key in
  // `classIndex`, classes in order), pods and demand.
  let key = "";
  for (const [k, c] of classIndex) {
    const cls = classes[c] as BoundClass & { demand: Record<string, number> };
    key += `${k}|${cls.pods}|`;
    for (const r in cls.demand) key += `${r}=${cls.demand[r]},`;
    key += ";";
  }
  let bound = memo.bounds.get(key);
  if (bound === undefined) {
    if (memo.bounds.size >= LP_MEMO_SIZE) memo.bounds.clear();
    bound = deepFreeze(computeLowerBound(offerings, classes));
    memo.bounds.set(key, bound);
  }
  return { bound, groupClass };
}

/**
 * Per encoded offerings list (deeply frozen catalogs encode to the same list), the LP's offerings and
 * its answers by classes: a disruption search solves the same small LPs attempt after attempt, pass
 * after pass (85% of them in the 2,000-node day). Cleared when full.
 */
const lpMemos = new WeakMap<readonly EncodedOffering[], LpMemo>();

/** The LP's offerings, its answers, and each class's compatible offerings (by class key and requests). */
interface LpMemo {
  offerings: BoundOffering[];
  bounds: Map<string, LowerBoundResult>;
  compatible: Map<string, Compatible>;
}
const LP_MEMO_SIZE = 4096;

/** A class's offerings that can hold one of its pods (by position), and them joined (its LP key). */
interface Compatible {
  compatible: number[];
  k: string;
}

function lpMemoFor(encoded: readonly EncodedOffering[]): LpMemo {
  let memo = lpMemos.get(encoded);
  if (memo === undefined) {
    memo = {
      offerings: encoded.map((o) => ({
        key: o.key,
        pricePerHour: o.offering.pricePerHour,
        allocatable: o.allocatable,
      })),
      bounds: new Map(),
      compatible: new Map(),
    };
    lpMemos.set(encoded, memo);
  }
  return memo;
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

/** What each NodePool uses after the plan: existing capacity plus each claim's largest option (Karpenter's accounting). */
function poolUsage(
  input: ProvisioningInput,
  claims: readonly PlannedNodeClaim[],
): Map<string, ResourceVector> {
  const usage = nodePoolUsage(input.nodes);
  const typesByPool = new Map<string, Map<string, InstanceType>>();
  for (const c of claims) {
    let types = typesByPool.get(c.nodePool);
    if (types === undefined) {
      types = new Map(instanceTypesFor(input, c.nodePool).map((t) => [t.name, t]));
      typesByPool.set(c.nodePool, types);
    }
    const used: Record<string, number> = { ...(usage.get(c.nodePool) ?? {}) };
    for (const [k, v] of Object.entries(
      claimCharge(c.instanceTypeOptions, (name) => types.get(name)?.capacity),
    ))
      used[k] = (used[k] ?? 0) + v;
    usage.set(c.nodePool, used);
  }
  return usage;
}
