import type {
  DaemonSet,
  InstanceType,
  Node,
  NodePool,
  NodeSelectorRequirement,
  Offering,
  Pod,
  ResourceVector,
  Taint,
  Toleration,
} from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { LABEL_CAPACITY_RESERVATION_ID } from "../well-known-labels.ts";
import { type VerifierOffering, verifyLowerBound } from "./verify-bound.ts";
import { verifyPatternBound } from "./verify-pattern-bound.ts";

/**
 * An independent checker of a provisioning plan. It deliberately shares no code with the solver: label
 * matching, tolerations, DaemonSet overhead and fits are re-implemented here in the plainest way, so a
 * bug in the solver's algebra cannot hide itself.
 */

/** One broken rule. */
export interface PlanViolation {
  rule:
    | "pod_accounting"
    | "unknown_node"
    | "requirement"
    | "taint"
    | "fit"
    | "limit"
    | "offering"
    | "price"
    | "cost"
    | "lower_bound"
    | "unschedulable_node"
    | "topology_spread"
    | "pod_affinity"
    | "pod_anti_affinity"
    | "host_port"
    | "min_values"
    | "reservation";
  message: string;
  pod?: string;
  node?: string;
}

/** The verdict. */
export interface PlanValidation {
  valid: boolean;
  violations: PlanViolation[];
  /** The lower bound recomputed from the certificate (0 when it cannot be checked). */
  verifiedLowerBoundPerHour: number;
}

const TOLERANCE = 1e-6;

/** Checks every constraint of `plan` against `input`. */
export function validatePlan(input: ProvisioningInput, plan: Plan): PlanValidation {
  const violations: PlanViolation[] = [];
  const podsByKey = new Map<string, Pod>();
  for (const p of input.pods) podsByKey.set(`${p.namespace}/${p.name}`, p);
  const pending = input.pods.filter(
    (p) => p.provisionable && p.nodeName === undefined && !p.daemonSet && !p.terminating,
  );
  const pools = new Map(input.nodePools.map((p) => [p.name, p]));
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  const claims = new Map(plan.nodeClaims.map((c) => [c.name, c]));
  const daemonSets = input.daemonSets ?? [];

  // Every pending pod exactly once: placed or unschedulable.
  const seen = new Map<string, number>();
  for (const p of plan.placements) seen.set(p.pod, (seen.get(p.pod) ?? 0) + 1);
  for (const u of plan.unschedulable) seen.set(u.pod, (seen.get(u.pod) ?? 0) + 1);
  for (const p of pending) {
    const key = `${p.namespace}/${p.name}`;
    const count = seen.get(key) ?? 0;
    if (count !== 1)
      violations.push({ rule: "pod_accounting", pod: key, message: `pending pod appears ${count} times` });
    seen.delete(key);
  }
  for (const key of seen.keys()) {
    violations.push({ rule: "pod_accounting", pod: key, message: "plan places a pod that is not pending" });
  }
  const placedOn = new Map<string, string[]>();
  for (const p of plan.placements) {
    const list = placedOn.get(p.node);
    if (list === undefined) placedOn.set(p.node, [p.pod]);
    else list.push(p.pod);
  }
  for (const claim of plan.nodeClaims) {
    const placed = placedOn.get(claim.name) ?? [];
    if (placed.sort().join("\n") !== [...claim.pods].sort().join("\n")) {
      violations.push({
        rule: "pod_accounting",
        node: claim.name,
        message: "claim pods differ from placements on it",
      });
    }
  }

  // Existing nodes: room, labels, taints.
  const addedToNode = new Map<string, Pod[]>();
  for (const placement of plan.placements) {
    const pod = podsByKey.get(placement.pod);
    if (pod === undefined) continue;
    const node = nodes.get(placement.node);
    if (node === undefined) {
      if (!claims.has(placement.node)) {
        violations.push({
          rule: "unknown_node",
          pod: placement.pod,
          node: placement.node,
          message: "placed on an unknown node",
        });
      }
      continue;
    }
    if (node.deleting || node.unschedulable) {
      violations.push({
        rule: "unschedulable_node",
        pod: placement.pod,
        node: node.name,
        message: "node is deleting or cordoned",
      });
    }
    const labelProblem = podRequirementProblem(pod, node.labels, []);
    if (labelProblem !== undefined)
      violations.push({ rule: "requirement", pod: placement.pod, node: node.name, message: labelProblem });
    const taint = untolerated(node.taints, pod.tolerations);
    if (taint !== undefined)
      violations.push({
        rule: "taint",
        pod: placement.pod,
        node: node.name,
        message: `does not tolerate ${taint.key}:${taint.effect}`,
      });
    addedToNode.set(node.name, [...(addedToNode.get(node.name) ?? []), pod]);
  }
  for (const [name, added] of addedToNode) {
    const node = nodes.get(name) as Node;
    const bound = input.pods.filter((p) => p.nodeName === name && !p.terminating);
    const used = sum([...bound, ...added].map((p) => p.requests));
    const over = overflow(used, node.allocatable);
    if (over !== undefined)
      violations.push({ rule: "fit", node: name, message: `existing node over allocatable on ${over}` });
  }

  // New claims: every option must be able to host the claim's pods on an available offering.
  // Limits: what the pool's nodes use before the plan, and what its claims add (largest option each).
  const existingUse = new Map<string, ResourceVector>();
  for (const node of input.nodes) {
    if (node.nodePool === undefined) continue;
    existingUse.set(node.nodePool, sum([existingUse.get(node.nodePool) ?? {}, node.capacity, { nodes: 1 }]));
  }
  const addedUse = new Map<string, ResourceVector>();
  let newCost = 0;
  // Claims of one option set (NodePool, instance types, zones, capacity types) share every check that
  // does not depend on their pods: analysed once per set. Pods with the same node constraints share
  // their requirement checks against a set.
  const optionSets = new Map<string, OptionSet>();
  // Launches per capacity reservation, against the instances the catalog says it has left.
  const caps = reservationCaps(input);
  const launches = new Map<string, number>();
  for (const claim of plan.nodeClaims) {
    newCost += claim.pricePerHour;
    const pool = pools.get(claim.nodePool);
    if (pool === undefined) {
      violations.push({
        rule: "unknown_node",
        node: claim.name,
        message: `unknown NodePool ${claim.nodePool}`,
      });
      continue;
    }
    const zones = allowedValues(claim.requirements, "topology.kubernetes.io/zone");
    const capacityTypes = allowedValues(claim.requirements, "karpenter.sh/capacity-type");
    const reservationIds = allowedValues(claim.requirements, LABEL_CAPACITY_RESERVATION_ID);
    const setKey = JSON.stringify([
      pool.name,
      zones,
      capacityTypes,
      reservationIds,
      claim.instanceTypeOptions,
    ]);
    let set = optionSets.get(setKey);
    if (set === undefined) {
      set = analyseOptionSet(
        input,
        pool,
        claim.instanceTypeOptions,
        { zones, capacityTypes, reservationIds },
        daemonSets,
      );
      optionSets.set(setKey, set);
    }
    if (claim.instanceTypeOptions.length === 0 || !claim.instanceTypeOptions.includes(claim.instanceType)) {
      violations.push({
        rule: "offering",
        node: claim.name,
        message: "chosen instance type is not among the options",
      });
    }
    for (const message of set.problems) violations.push({ rule: "offering", node: claim.name, message });
    for (const message of set.poolProblems)
      violations.push({ rule: "requirement", node: claim.name, message });
    const claimPods = claim.pods.map((k) => podsByKey.get(k)).filter((p): p is Pod => p !== undefined);
    // Labels the claim's own single-valued requirements give the node stand in for missing ones.
    const claimLabels = claim.requirements
      .filter((r) => r.operator === "In" && r.values.length === 1)
      .map((r) => [r.key, r.values[0]]);
    for (const pod of claimPods) {
      const podKey = JSON.stringify([
        pod.nodeSelector,
        pod.requiredNodeAffinity,
        pod.volumeRequirements,
        claimLabels,
      ]);
      let problems = set.podProblems.get(podKey);
      if (problems === undefined) {
        problems = [];
        for (const opt of set.offerings) {
          const problem = podRequirementProblem(pod, opt.labels, claim.requirements);
          if (problem !== undefined) problems.push(`${opt.name} in ${opt.zone}: ${problem}`);
        }
        set.podProblems.set(podKey, problems);
      }
      for (const message of problems)
        violations.push({
          rule: "requirement",
          pod: `${pod.namespace}/${pod.name}`,
          node: claim.name,
          message,
        });
    }
    // Every option must hold the pods: against the smallest allocatable first, each option only when
    // that fails.
    const podDemand = sum(claimPods.map((p) => p.requests));
    if (shortfall(podDemand, set.minAllocatable) !== undefined) {
      for (const opt of set.offerings) {
        const over = shortfall(podDemand, opt.allocatable);
        if (over !== undefined)
          violations.push({
            rule: "fit",
            node: claim.name,
            message: `pods + DaemonSets exceed ${opt.name} allocatable on ${over}`,
          });
      }
    }
    if (claim.capacityType === "reserved") {
      // A reserved claim launches into an available reservation of its type and zone, which it names.
      const o = typesFor(input, pool.name)
        .find((t) => t.name === claim.instanceType)
        ?.offerings.find(
          (o) =>
            o.capacityType === "reserved" &&
            o.zone === claim.zone &&
            o.available &&
            o.reservationCapacity !== 0 &&
            (o.reservationId === undefined || reservationIds?.includes(o.reservationId) === true),
        );
      if (o === undefined) {
        violations.push({
          rule: "reservation",
          node: claim.name,
          message: `reserved claim: no available reservation of ${claim.instanceType} in ${claim.zone} it names`,
        });
      } else {
        const id = o.reservationId ?? `${claim.instanceType}/${claim.zone}`;
        launches.set(id, (launches.get(id) ?? 0) + 1);
      }
    }
    for (const pod of claimPods) {
      const taint = untolerated(pool.template.taints, pod.tolerations);
      if (taint !== undefined) {
        violations.push({
          rule: "taint",
          pod: `${pod.namespace}/${pod.name}`,
          node: claim.name,
          message: `does not tolerate ${taint.key}:${taint.effect}`,
        });
      }
    }
    if (Number.isFinite(set.cheapest) && Math.abs(set.cheapest - claim.pricePerHour) > TOLERANCE) {
      violations.push({
        rule: "price",
        node: claim.name,
        message: `pricePerHour ${claim.pricePerHour} but cheapest option costs ${set.cheapest}`,
      });
    }
    if (Number.isFinite(set.cheapest) && Math.abs(set.worst - claim.worstPricePerHour) > TOLERANCE) {
      violations.push({
        rule: "price",
        node: claim.name,
        message: `worstPricePerHour ${claim.worstPricePerHour} but dearest option costs ${set.worst}`,
      });
    }
    // minValues: distinct admitted values among the options, unless the claim says it relaxed them.
    if (claim.annotations?.["karpenter.sh/nodeclaim-min-values-relaxed"] !== "true")
      for (const message of set.minValuesProblems)
        violations.push({ rule: "min_values", node: claim.name, message });
    addedUse.set(pool.name, sum([addedUse.get(pool.name) ?? {}, set.maxCapacity, { nodes: 1 }]));
  }
  for (const [id, n] of launches) {
    const capacity = caps.get(id);
    if (capacity !== undefined && n > capacity)
      violations.push({
        rule: "reservation",
        message: `reservation ${id} launched ${n} times, ${capacity} instances left`,
      });
  }
  // A pool its nodes already took over a limit is the cluster's state, not the plan's doing: only a
  // plan that adds capacity to such a pool breaks the limit (Karpenter launches nothing there).
  for (const pool of input.nodePools) {
    const added = addedUse.get(pool.name);
    if (added === undefined) continue;
    const before = existingUse.get(pool.name) ?? {};
    for (const [k, limit] of Object.entries(pool.limits)) {
      const after = (before[k] ?? 0) + (added[k] ?? 0);
      if (after <= limit) continue;
      const already = (before[k] ?? 0) > limit ? `, its nodes already use ${before[k]}` : "";
      violations.push({
        rule: "limit",
        message: `NodePool ${pool.name} ${k} would reach ${after} over its limit ${limit}${already}`,
      });
    }
  }

  for (const v of topologyViolations(input, plan, podsByKey)) violations.push(v);
  for (const v of zoneOfferingViolations(input, plan)) violations.push(v);

  // Costs add up, and the bound is what its certificate proves.
  const current = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  if (Math.abs(newCost - plan.cost.newPerHour) > TOLERANCE * Math.max(1, newCost)) {
    violations.push({
      rule: "cost",
      message: `newPerHour ${plan.cost.newPerHour} but claims sum to ${newCost}`,
    });
  }
  if (Math.abs(current - plan.cost.currentPerHour) > TOLERANCE * Math.max(1, current)) {
    violations.push({
      rule: "cost",
      message: `currentPerHour ${plan.cost.currentPerHour} but nodes sum to ${current}`,
    });
  }
  if (
    Math.abs(plan.cost.plannedPerHour - (plan.cost.currentPerHour + plan.cost.newPerHour)) >
    TOLERANCE * Math.max(1, newCost + current)
  ) {
    violations.push({ rule: "cost", message: "plannedPerHour is not current + new" });
  }
  const onClaims = plan.nodeClaims
    .flatMap((c) => c.pods.map((k) => podsByKey.get(k)))
    .filter((p): p is Pod => p !== undefined);
  // Pods with the same constraints and requests have the same offerings: compute them once.
  const offeringsMemo = new Map<string, ReturnType<typeof compatibleOfferings>>();
  const offeringsFor = (pod: Pod) => {
    const k = JSON.stringify([
      pod.requests,
      pod.nodeSelector,
      pod.requiredNodeAffinity,
      pod.volumeRequirements,
      pod.tolerations,
    ]);
    let found = offeringsMemo.get(k);
    if (found === undefined) {
      found = compatibleOfferings(input, pod, caps);
      offeringsMemo.set(k, found);
    }
    return found;
  };
  const certificate = plan.lowerBound.certificate as { kind?: unknown } | null;
  const verified =
    typeof certificate === "object" && certificate?.kind === "pattern-farley"
      ? verifyPatternBound(certificate, onClaims, offeringsFor)
      : verifyLowerBound(certificate, onClaims, offeringsFor);
  if (verified === null) {
    if (plan.cost.lowerBoundPerHour > 0)
      violations.push({ rule: "lower_bound", message: "lower bound certificate is malformed" });
  } else if (verified < plan.cost.lowerBoundPerHour * (1 - 1e-7) - 1e-9) {
    violations.push({
      rule: "lower_bound",
      message: `certificate proves ${verified}, plan claims ${plan.cost.lowerBoundPerHour}`,
    });
  }
  if (plan.cost.lowerBoundPerHour > newCost * (1 + 1e-7) + 1e-9) {
    violations.push({
      rule: "lower_bound",
      message: `lower bound ${plan.cost.lowerBoundPerHour} exceeds the plan's own new cost ${newCost}`,
    });
  }
  return { valid: violations.length === 0, violations, verifiedLowerBoundPerHour: verified ?? 0 };
}

/**
 * Zones as the cloud offers them: each claim's chosen instance type must have an available offering of
 * its capacity type in its zone (EC2 does not offer every type in every zone). Owned by the cost
 * helper's zone-offering work; kept apart from the option-set checks above.
 */
function zoneOfferingViolations(input: ProvisioningInput, plan: Plan): PlanViolation[] {
  const out: PlanViolation[] = [];
  const byPool = new Map<string, Map<string, InstanceType>>();
  for (const claim of plan.nodeClaims) {
    let types = byPool.get(claim.nodePool);
    if (types === undefined) {
      types = new Map(typesFor(input, claim.nodePool).map((t) => [t.name, t]));
      byPool.set(claim.nodePool, types);
    }
    const offered = types
      .get(claim.instanceType)
      ?.offerings.some((o) => o.zone === claim.zone && o.capacityType === claim.capacityType && o.available);
    if (offered !== true)
      out.push({
        rule: "offering",
        node: claim.name,
        message: `${claim.instanceType} has no available ${claim.capacityType} offering in ${claim.zone}`,
      });
  }
  return out;
}

/** What a claim's option set allows, checked once for every claim that has it. */
interface OptionSet {
  offerings: { name: string; zone: string; labels: Record<string, string>; allocatable: ResourceVector }[];
  /** Per resource, the least any option offers: demand within it fits every option. */
  minAllocatable: ResourceVector;
  cheapest: number;
  worst: number;
  maxCapacity: Record<string, number>;
  problems: string[];
  poolProblems: string[];
  minValuesProblems: string[];
  /** Requirement problems by pod constraints. */
  podProblems: Map<string, string[]>;
}

function analyseOptionSet(
  input: ProvisioningInput,
  pool: NodePool,
  options: readonly string[],
  allowed: {
    zones: readonly string[] | undefined;
    capacityTypes: readonly string[] | undefined;
    reservationIds: readonly string[] | undefined;
  },
  daemonSets: readonly DaemonSet[],
): OptionSet {
  const { zones, capacityTypes, reservationIds } = allowed;
  const types = new Map(typesFor(input, pool.name).map((t) => [t.name, t]));
  // The offerings each option may launch as: available (a reservation with instances left), in the
  // claim's zones, capacity types and reservations. With spot and on-demand both possible, spot
  // priced above the claim's cheapest on-demand offering is not launched (Karpenter).
  const launchable = new Map<string, Offering[]>();
  let spotCeiling = Number.POSITIVE_INFINITY;
  let anySpot = false;
  for (const name of options) {
    const offerings = (types.get(name)?.offerings ?? []).filter(
      (o) =>
        o.available &&
        o.reservationCapacity !== 0 &&
        (zones === undefined || zones.includes(o.zone)) &&
        (capacityTypes === undefined || capacityTypes.includes(o.capacityType)) &&
        (reservationIds === undefined ||
          (o.reservationId !== undefined && reservationIds.includes(o.reservationId))),
    );
    for (const o of offerings) {
      if (o.capacityType === "spot") anySpot = true;
      if (o.capacityType === "on-demand") spotCeiling = Math.min(spotCeiling, o.pricePerHour);
    }
    launchable.set(name, offerings);
  }
  if (!anySpot) spotCeiling = Number.POSITIVE_INFINITY;
  const set: OptionSet = {
    offerings: [],
    minAllocatable: {},
    cheapest: Number.POSITIVE_INFINITY,
    worst: 0,
    maxCapacity: {},
    problems: [],
    poolProblems: [],
    minValuesProblems: [],
    podProblems: new Map(),
  };
  const resources = new Set<string>();
  for (const name of options) {
    const it = types.get(name);
    if (it === undefined) {
      set.problems.push(`option ${name} is not in the NodePool's catalog`);
      continue;
    }
    const offerings = (launchable.get(name) ?? []).filter(
      (o) => o.capacityType !== "spot" || o.pricePerHour <= spotCeiling,
    );
    if (offerings.length === 0) {
      set.problems.push(`option ${name} has no available offering in the claim's zones and capacity types`);
      continue;
    }
    for (const o of offerings) {
      set.cheapest = Math.min(set.cheapest, o.pricePerHour);
      set.worst = Math.max(set.worst, o.pricePerHour);
      const labels = nodeLabels(pool, it, o.zone, o.capacityType, o.zoneId);
      const poolProblem = requirementsProblem(pool.template.requirements, labels, true);
      if (poolProblem !== undefined)
        set.poolProblems.push(`option ${name} in ${o.zone}: NodePool ${poolProblem}`);
      const overhead = daemonSetOverhead(daemonSets, pool, labels);
      const allocatable: Record<string, number> = {};
      for (const [k, v] of Object.entries(it.allocatable)) allocatable[k] = v - (overhead[k] ?? 0);
      for (const k of Object.keys(overhead)) {
        allocatable[k] ??= -(overhead[k] as number);
        resources.add(k);
      }
      for (const k of Object.keys(allocatable)) resources.add(k);
      set.offerings.push({ name, zone: o.zone, labels, allocatable });
    }
    for (const [k, v] of Object.entries(it.capacity))
      set.maxCapacity[k] = Math.max(set.maxCapacity[k] ?? 0, v);
  }
  // A resource some option lacks counts as 0 there.
  for (const k of resources)
    set.minAllocatable[k] = Math.min(...set.offerings.map((o) => o.allocatable[k] ?? 0));
  for (const r of pool.template.requirements) {
    if (r.minValues === undefined) continue;
    const seen = new Set<string>();
    for (const { labels } of set.offerings) {
      const v = labels[r.key];
      if (
        v !== undefined &&
        requirementsProblem([{ ...r, minValues: undefined }], { [r.key]: v }, false) === undefined
      )
        seen.add(v);
    }
    if (seen.size < r.minValues)
      set.minValuesProblems.push(
        `${r.key} has ${seen.size} distinct values among the options, minValues ${r.minValues}`,
      );
  }
  return set;
}

/**
 * Instances left per capacity reservation (id, else type/zone) in the input catalog: the least any of its
 * available offerings reports (a used-up one is no offering). Reserved offerings with no count are uncapped.
 */
function reservationCaps(input: ProvisioningInput): Map<string, number> {
  const caps = new Map<string, number>();
  const its = input.instanceTypes;
  const all = Array.isArray(its) ? its : Object.values(its as Record<string, readonly InstanceType[]>).flat();
  for (const it of all)
    for (const o of it.offerings) {
      if (o.capacityType !== "reserved" || !o.available || !o.reservationCapacity) continue;
      const id = o.reservationId ?? `${it.name}/${o.zone}`;
      caps.set(id, Math.min(caps.get(id) ?? Number.POSITIVE_INFINITY, o.reservationCapacity));
    }
  return caps;
}

/**
 * Offerings (by certificate key) a pod could run on as a new node, with their allocatable net of
 * DaemonSets and, for a capped reservation's, its id and instances left (`caps`, from reservationCaps).
 */
function compatibleOfferings(input: ProvisioningInput, pod: Pod, caps: ReadonlyMap<string, number>) {
  const out: VerifierOffering[] = [];
  const exotic = new Set<VerifierOffering>();
  for (const pool of input.nodePools) {
    const keepsExotic = pool.template.requirements.some((r) => r.minValues !== undefined);
    if (untolerated(pool.template.taints, pod.tolerations) !== undefined) continue;
    for (const it of typesFor(input, pool.name)) {
      for (const o of it.offerings) {
        if (!o.available || o.reservationCapacity === 0) continue;
        const labels = nodeLabels(pool, it, o.zone, o.capacityType, o.zoneId);
        if (requirementsProblem(pool.template.requirements, labels, true) !== undefined) continue;
        if (podRequirementProblem(pod, labels, []) !== undefined) continue;
        const overhead = daemonSetOverhead(input.daemonSets ?? [], pool, labels);
        const allocatable: Record<string, number> = {};
        for (const [k, v] of Object.entries(it.allocatable))
          allocatable[k] = Math.max(0, v - (overhead[k] ?? 0));
        // A pod can only ever be served where it fits on its own.
        if (overflow(pod.requests, allocatable) !== undefined) continue;
        const offering: VerifierOffering = {
          key: `${pool.name}/${it.name}/${o.zone}/${o.capacityType}${o.reservationId === undefined ? "" : `/${o.reservationId}`}`,
          pricePerHour: o.pricePerHour,
          allocatable,
          ...reservationOf(it, o, caps),
        };
        out.push(offering);
        if (it.exotic === true && !keepsExotic) exotic.add(offering);
      }
    }
  }
  return withoutExoticTypes(out, exotic);
}

/**
 * Exotic instance types (metal, GPUs, accelerators, special-quota families) serve a pod only when no
 * other offering does (Karpenter's exotic filter; NodePools with minValues keep them as ordinary).
 */
function withoutExoticTypes(
  offerings: VerifierOffering[],
  exotic: ReadonlySet<VerifierOffering>,
): VerifierOffering[] {
  if (exotic.size === 0 || exotic.size === offerings.length) return offerings;
  return offerings.filter((o) => !exotic.has(o));
}

/** A capped reservation's offering: its id and the instances the catalog says are left. */
function reservationOf(
  it: InstanceType,
  o: InstanceType["offerings"][number],
  caps: ReadonlyMap<string, number>,
): { reservation?: { id: string; capacity: number } } {
  if (o.capacityType !== "reserved" || o.reservationCapacity === undefined) return {};
  const id = o.reservationId ?? `${it.name}/${o.zone}`;
  const capacity = caps.get(id);
  return capacity === undefined ? {} : { reservation: { id, capacity } };
}

function typesFor(input: ProvisioningInput, pool: string): readonly InstanceType[] {
  const its = input.instanceTypes;
  return Array.isArray(its) ? its : ((its as Record<string, readonly InstanceType[]>)[pool] ?? []);
}

function nodeLabels(
  pool: NodePool,
  it: InstanceType,
  zone: string,
  capacityType: string,
  zoneId?: string,
): Record<string, string> {
  const labels: Record<string, string> = { ...it.labels, ...pool.template.labels };
  for (const r of pool.template.requirements) {
    if (r.operator === "In" && r.values.length === 1 && labels[r.key] === undefined)
      labels[r.key] = r.values[0] as string;
  }
  labels["topology.kubernetes.io/zone"] = zone;
  if (zoneId !== undefined) labels["topology.k8s.aws/zone-id"] = zoneId;
  labels["karpenter.sh/capacity-type"] = capacityType;
  labels["karpenter.sh/nodepool"] = pool.name;
  labels["node.kubernetes.io/instance-type"] = it.name;
  return labels;
}

function daemonSetOverhead(
  daemonSets: readonly DaemonSet[],
  pool: NodePool,
  labels: Record<string, string>,
): ResourceVector {
  const parts: ResourceVector[] = [];
  for (const ds of daemonSets) {
    if (untolerated(pool.template.taints, ds.tolerations) !== undefined) continue;
    const pseudoPod = {
      nodeSelector: ds.nodeSelector,
      requiredNodeAffinity: ds.requiredNodeAffinity,
      volumeRequirements: [],
    };
    if (podRequirementProblem(pseudoPod, labels, []) !== undefined) continue;
    parts.push(ds.requests);
  }
  return sum(parts);
}

function allowedValues(requirements: readonly NodeSelectorRequirement[], key: string): string[] | undefined {
  const r = requirements.find((x) => x.key === key && x.operator === "In");
  return r?.values;
}

type PodLike = Pick<Pod, "nodeSelector" | "requiredNodeAffinity" | "volumeRequirements">;

/** Why the pod cannot run on a node with these labels, or undefined. Claim requirements stand in for labels the node will get. */
function podRequirementProblem(
  pod: PodLike,
  labels: Record<string, string>,
  claimRequirements: readonly NodeSelectorRequirement[],
): string | undefined {
  const effective = { ...labels };
  for (const r of claimRequirements) {
    if (r.operator === "In" && r.values.length === 1 && effective[r.key] === undefined)
      effective[r.key] = r.values[0] as string;
  }
  for (const [k, v] of Object.entries(pod.nodeSelector)) {
    if (effective[k] !== v) return `nodeSelector ${k}=${v} not satisfied`;
  }
  const volume = requirementsProblem(pod.volumeRequirements, effective, false);
  if (volume !== undefined) return `volume ${volume}`;
  if (pod.requiredNodeAffinity.length > 0) {
    const ok = pod.requiredNodeAffinity.some(
      (term) => requirementsProblem(term.matchExpressions, effective, false) === undefined,
    );
    if (!ok) return "no required node affinity term is satisfied";
  }
  return undefined;
}

/** Checks requirements against labels; with `skipUndefined`, keys the labels lack are not judged. */
function requirementsProblem(
  requirements: readonly NodeSelectorRequirement[],
  labels: Record<string, string>,
  skipUndefined: boolean,
): string | undefined {
  for (const r of requirements) {
    const value = labels[r.key];
    if (value === undefined && skipUndefined) continue;
    let ok: boolean;
    switch (r.operator) {
      case "In":
        ok = value !== undefined && r.values.includes(value);
        break;
      case "NotIn":
        ok = value === undefined || !r.values.includes(value);
        break;
      case "Exists":
        ok = value !== undefined;
        break;
      case "DoesNotExist":
        ok = value === undefined;
        break;
      default: {
        const bound = Number(r.values[0]);
        const v = value === undefined ? Number.NaN : Number(value);
        ok =
          Number.isInteger(v) &&
          (r.operator === "Gt"
            ? v > bound
            : r.operator === "Lt"
              ? v < bound
              : r.operator === "Gte"
                ? v >= bound
                : v <= bound);
      }
    }
    if (!ok)
      return `requirement ${r.key} ${r.operator} ${r.values.join(",")} not satisfied by ${value ?? "(unset)"}`;
  }
  return undefined;
}

function untolerated(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint | undefined {
  return taints.find(
    (t) =>
      t.effect !== "PreferNoSchedule" &&
      !tolerations.some((tol) => {
        if (tol.effect !== undefined && tol.effect !== t.effect) return false;
        if ((tol.operator ?? "Equal") === "Exists")
          return tol.key === undefined || tol.key === "" || tol.key === t.key;
        return tol.key === t.key && (tol.value ?? "") === (t.value ?? "");
      }),
  );
}

function sum(vectors: readonly ResourceVector[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of vectors) for (const [k, x] of Object.entries(v)) out[k] = (out[k] ?? 0) + x;
  return out;
}

/** The resource `demand` exceeds in net allocatable (negative where DaemonSets alone overflow), or undefined. */
function shortfall(demand: ResourceVector, net: ResourceVector): string | undefined {
  for (const [k, v] of Object.entries(net)) if (v < 0) return k;
  return overflow(demand, net);
}

function overflow(used: ResourceVector, allocatable: ResourceVector): string | undefined {
  for (const [k, v] of Object.entries(used)) if (v > 0 && v > (allocatable[k] ?? 0)) return k;
  return undefined;
}

const HOSTNAME = "kubernetes.io/hostname";

type Selector = NonNullable<Pod["topologySpreadConstraints"][number]["labelSelector"]>;

/** Kubernetes label selector semantics; an absent selector matches nothing. */
function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions) {
    const v = labels[e.key];
    if (e.operator === "In" && (v === undefined || !e.values.includes(v))) return false;
    if (e.operator === "NotIn" && v !== undefined && e.values.includes(v)) return false;
    if (e.operator === "Exists" && v === undefined) return false;
    if (e.operator === "DoesNotExist" && v !== undefined) return false;
  }
  return true;
}

/** Does `other` count for `owner`'s term (namespaces, selector with match/mismatch label keys)? */
function termSelects(
  input: ProvisioningInput,
  owner: Pod,
  term: Pod["podAffinity"]["required"][number],
  other: Pod,
): boolean {
  let inScope: boolean;
  if (term.namespaceSelector !== undefined) {
    const sel = term.namespaceSelector;
    const everything = Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
    const labels = input.namespaces?.find((n) => n.name === other.namespace)?.labels ?? {};
    inScope = everything || term.namespaces.includes(other.namespace) || selects(sel, { ...labels });
  } else {
    inScope = (term.namespaces.length > 0 ? term.namespaces : [owner.namespace]).includes(other.namespace);
  }
  if (!inScope || !selects(term.labelSelector, other.labels)) return false;
  for (const k of term.matchLabelKeys)
    if (owner.labels[k] !== undefined && other.labels[k] !== owner.labels[k]) return false;
  for (const k of term.mismatchLabelKeys)
    if (owner.labels[k] !== undefined && other.labels[k] === owner.labels[k]) return false;
  return true;
}

/**
 * Topology spread (DoNotSchedule), required pod affinity and anti-affinity (both ways) and host ports,
 * checked on the cluster as the plan leaves it. A new claim belongs to a domain only when all of its
 * options agree on the key's value; the hostname domain of a claim is the claim.
 */
function topologyViolations(
  input: ProvisioningInput,
  plan: Plan,
  podsByKey: Map<string, Pod>,
): PlanViolation[] {
  const out: PlanViolation[] = [];
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  const claims = new Map(plan.nodeClaims.map((c) => [c.name, c]));
  const pools = new Map(input.nodePools.map((p) => [p.name, p]));
  const newPods = new Set<Pod>();
  const placed: { pod: Pod; node: string }[] = [];
  for (const p of input.pods) {
    if (p.nodeName === undefined || p.terminating || p.phase === "Succeeded" || p.phase === "Failed")
      continue;
    if (nodes.has(p.nodeName)) placed.push({ pod: p, node: p.nodeName });
  }
  for (const pl of plan.placements) {
    const pod = podsByKey.get(pl.pod);
    if (pod === undefined) continue;
    newPods.add(pod);
    placed.push({ pod, node: pl.node });
  }
  const involved = [...newPods].some(
    (p) =>
      p.topologySpreadConstraints.length > 0 ||
      p.podAffinity.required.length > 0 ||
      p.podAntiAffinity.required.length > 0 ||
      p.hostPorts.length > 0,
  );
  if (!involved && !placed.some((x) => x.pod.podAntiAffinity.required.length > 0)) return out;

  const domainMemo = new Map<string, string | null>();
  /** The node's value on `key`; null when a claim's options disagree (or leave it unset). */
  const domainOf = (node: string, key: string): string | null | undefined => {
    const n = nodes.get(node);
    if (n !== undefined) return key === HOSTNAME ? (n.labels[HOSTNAME] ?? n.name) : n.labels[key];
    if (key === HOSTNAME) return node;
    const memoKey = `${node}\n${key}`;
    if (domainMemo.has(memoKey)) return domainMemo.get(memoKey);
    const claim = claims.get(node) as PlannedNodeClaim;
    const pool = pools.get(claim.nodePool);
    const values = new Set<string | undefined>();
    const zones = allowedValues(claim.requirements, "topology.kubernetes.io/zone");
    const capacityTypes = allowedValues(claim.requirements, "karpenter.sh/capacity-type");
    const fixed = claim.requirements.find(
      (r) => r.key === key && r.operator === "In" && r.values.length === 1,
    );
    if (fixed !== undefined) values.add(fixed.values[0]);
    else if (pool !== undefined) {
      for (const name of claim.instanceTypeOptions) {
        const it = typesFor(input, pool.name).find((t) => t.name === name);
        for (const o of it?.offerings ?? []) {
          if (!o.available || (zones !== undefined && !zones.includes(o.zone))) continue;
          if (capacityTypes !== undefined && !capacityTypes.includes(o.capacityType)) continue;
          values.add(nodeLabels(pool, it as InstanceType, o.zone, o.capacityType)[key]);
        }
      }
    }
    const v = values.size === 1 ? ([...values][0] ?? null) : null;
    domainMemo.set(memoKey, v);
    return v;
  };
  const where = new Map<Pod, string>(placed.map((x) => [x.pod, x.node]));
  const byDomain = new Map<string, Pod[]>();
  const podsIn = (key: string, d: string) => {
    const memoKey = `${key}\n${d}`;
    let list = byDomain.get(memoKey);
    if (list === undefined) {
      list = placed.filter((x) => domainOf(x.node, key) === d).map((x) => x.pod);
      byDomain.set(memoKey, list);
    }
    return list;
  };
  const id = (p: Pod) => `${p.namespace}/${p.name}`;
  // Per namespace, labels and term (equal for a deployment's pods): what the affinity check derives.
  const anchoredMemo = new Map<string, boolean>();
  const bootstrapMemo = new Map<string, boolean>();
  const strayMemo = new Map<string, Pod | undefined>();

  for (const pod of newPods) {
    const node = where.get(pod) as string;
    for (const c of pod.topologySpreadConstraints) {
      if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
      const d = domainOf(node, c.topologyKey);
      if (d === null || d === undefined) {
        out.push({
          rule: "topology_spread",
          pod: id(pod),
          node,
          message: `node has no single ${c.topologyKey} value`,
        });
        continue;
      }
      const counted = (q: Pod) => {
        if (q.namespace !== pod.namespace || !selects(c.labelSelector, q.labels)) return false;
        return c.matchLabelKeys.every((k) => pod.labels[k] === undefined || q.labels[k] === pod.labels[k]);
      };
      // Eligible domains (nodeAffinityPolicy / nodeTaintsPolicy) and their counts.
      const eligible = new Set<string>();
      const honorAffinity = c.nodeAffinityPolicy === "Honor";
      const honorTaints = c.nodeTaintsPolicy === "Honor";
      const nodeOk = (labels: Record<string, string>, taints: readonly Taint[]) =>
        (!honorAffinity || podRequirementProblem(pod, labels, []) === undefined) &&
        (!honorTaints || untolerated(taints, pod.tolerations) === undefined);
      if (c.topologyKey !== HOSTNAME) {
        for (const n of input.nodes) {
          const v = n.labels[c.topologyKey];
          if (v !== undefined && nodeOk(n.labels, n.taints)) eligible.add(v);
        }
        for (const pool of input.nodePools)
          for (const it of typesFor(input, pool.name))
            for (const o of it.offerings) {
              if (!o.available) continue;
              const labels = nodeLabels(pool, it, o.zone, o.capacityType);
              const v = labels[c.topologyKey];
              if (
                v === undefined ||
                requirementsProblem(pool.template.requirements, labels, true) !== undefined
              )
                continue;
              if (nodeOk(labels, pool.template.taints)) eligible.add(v);
            }
      }
      const counts = new Map<string, number>();
      for (const x of placed) {
        if (!counted(x.pod)) continue;
        const n = nodes.get(x.node);
        if (n !== undefined && !nodeOk(n.labels, n.taints)) continue;
        const v = domainOf(x.node, c.topologyKey);
        if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      let min = c.topologyKey === HOSTNAME || eligible.size === 0 ? 0 : Number.POSITIVE_INFINITY;
      for (const e of eligible) min = Math.min(min, counts.get(e) ?? 0);
      if (c.minDomains !== undefined && eligible.size < c.minDomains) min = 0;
      const n = counts.get(d) ?? 0;
      if (n - min > c.maxSkew)
        out.push({
          rule: "topology_spread",
          pod: id(pod),
          node,
          message: `${c.topologyKey}=${d} has ${n} matching pods, minimum ${min}, maxSkew ${c.maxSkew}`,
        });
    }
    for (const term of pod.podAffinity.required) {
      const key = term.topologyKey;
      const d = domainOf(node, key);
      // A partner that could have been there first: a bound pod, or a new one not in this pod's
      // self-affinity set (pods selecting each other and themselves on this key found only one domain).
      const selected = (q: Pod) => q !== pod && termSelects(input, pod, term, q);
      const anchors = (q: Pod) =>
        !newPods.has(q) ||
        !q.podAffinity.required.some(
          (t) => t.topologyKey === key && termSelects(input, q, t, q) && termSelects(input, q, t, pod),
        );
      const memoKey = JSON.stringify([pod.namespace, pod.labels, term]);
      const anchored = (domain: string) => {
        const k = `${memoKey}\n${domain}`;
        let v = anchoredMemo.get(k);
        if (v === undefined) {
          v = podsIn(key, domain).some((q) => selected(q) && anchors(q));
          anchoredMemo.set(k, v);
        }
        return v;
      };
      const ok = d !== null && d !== undefined && anchored(d);
      let bootstrapping = bootstrapMemo.get(memoKey);
      if (bootstrapping === undefined) {
        bootstrapping =
          termSelects(input, pod, term, pod) &&
          !placed.some((x) => !newPods.has(x.pod) && termSelects(input, pod, term, x.pod));
        bootstrapMemo.set(memoKey, bootstrapping);
      }
      if (!ok && !bootstrapping) {
        out.push({
          rule: "pod_affinity",
          pod: id(pod),
          node,
          message: `no pod matching its ${key} affinity in the same domain`,
        });
      } else if (!ok && (d === null || d === undefined)) {
        out.push({
          rule: "pod_affinity",
          pod: id(pod),
          node,
          message: `node has no single ${key} value`,
        });
      } else if (!ok) {
        // Self-affinity with no pod to join: the first pod goes anywhere, every later one joins a
        // matching pod, so the new pods the term selects that need a partner share one domain (others
        // may sit where a pod they can follow is).
        const strayKey = `${memoKey}\n${d}`;
        let stray = strayMemo.get(strayKey);
        if (!strayMemo.has(strayKey)) {
          stray = [...newPods].find((q) => {
            if (!selected(q) || !q.podAffinity.required.some((t) => t.topologyKey === key)) return false;
            const there = domainOf(where.get(q) as string, key);
            return there !== d && (there === null || there === undefined || !anchored(there));
          });
          strayMemo.set(strayKey, stray);
        }
        if (stray !== undefined)
          out.push({
            rule: "pod_affinity",
            pod: id(pod),
            node,
            message: `self-affinity on ${key} split across domains (${id(stray)})`,
          });
      }
    }
  }
  // Anti-affinity both ways: an owner's term may not select another pod in its domain, when either is new.
  for (const { pod: owner, node } of placed) {
    for (const term of owner.podAntiAffinity.required) {
      const d = domainOf(node, term.topologyKey);
      if (d === undefined) continue;
      if (d === null) {
        if (newPods.has(owner))
          out.push({
            rule: "pod_anti_affinity",
            pod: id(owner),
            node,
            message: `node has no single ${term.topologyKey} value`,
          });
        continue;
      }
      for (const q of podsIn(term.topologyKey, d)) {
        if (q === owner || (!newPods.has(q) && !newPods.has(owner))) continue;
        if (termSelects(input, owner, term, q))
          out.push({
            rule: "pod_anti_affinity",
            pod: id(q),
            node: where.get(q) as string,
            message: `shares ${term.topologyKey}=${d} with ${id(owner)}, whose anti-affinity selects it`,
          });
      }
    }
  }
  // Host ports: one pod per (port, protocol) and overlapping host IP on a node.
  const ports = new Map<string, Pod[]>();
  for (const { pod, node } of placed) {
    for (const hp of pod.hostPorts) {
      const list = ports.get(`${node}\n${hp.port}/${hp.protocol}`) ?? [];
      const clash = list.find(
        (q) =>
          (newPods.has(q) || newPods.has(pod)) &&
          q.hostPorts.some(
            (x) =>
              x.port === hp.port &&
              x.protocol === hp.protocol &&
              (x.hostIP === hp.hostIP || x.hostIP === "0.0.0.0" || hp.hostIP === "0.0.0.0"),
          ),
      );
      if (clash !== undefined)
        out.push({
          rule: "host_port",
          pod: id(pod),
          node,
          message: `host port ${hp.port}/${hp.protocol} also used by ${id(clash)}`,
        });
      list.push(pod);
      ports.set(`${node}\n${hp.port}/${hp.protocol}`, list);
    }
  }
  return out;
}

/** Re-exported for tests that check a single claim. */
export type { PlannedNodeClaim };
