import { cmp } from "../compare.ts";
import { type Costs, costsOfNode, offeringCosts, sumCosts, ZERO_COSTS } from "../costs.ts";
import type {
  DaemonSet,
  InstanceType,
  LabelSelector,
  Node,
  NodePool,
  NodeSelectorRequirement,
  Offering,
  Pod,
  PodAffinityTerm,
  ResourceVector,
  Taint,
  Toleration,
} from "../model.ts";
import { podKey } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import { diagnoseUnplaced } from "../provisioning/diagnose.ts";
import { encode } from "../provisioning/encode.ts";
import { instanceTypesFor, isProvisionable, type ProvisioningInput } from "../provisioning/input.ts";
import { relaxationSteps, withPreferences } from "../provisioning/preferences.ts";
import { boundForClaims } from "../provisioning/provision.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { renderUnschedulable } from "../render.ts";
import {
  checkMinValues,
  matchesNodeSelectorRequirement,
  matchesNodeSelectorTerms,
  Requirements,
} from "../requirements.ts";
import { labelSelectorKey, matchesLabelSelector } from "../selectors.ts";
import { toleratesAny } from "../taints.ts";

/**
 * Karpenter's provisioning algorithm (kubernetes-sigs/karpenter pkg/controllers/provisioning/scheduling:
 * scheduler.go, queue.go, existingnode.go, nodeclaim.go, topology.go), the `karpenter` strategy's
 * provisioner and the benchmark's baseline.
 *
 * - The queue: pending pods by cpu then memory descending, then creation time, then uid
 *   (byCPUAndMemoryDescending). A pod that fails goes to the back; the solve stops once the queue went
 *   round without progress (Queue.Pop's lastLen), so a pod waiting for an affinity partner later in the
 *   batch gets another try.
 * - Each try (Scheduler.trySchedule) relaxes the pod's preferences one step per failure, Karpenter's
 *   order (preferences.go, as `withPreferences` implements it), until it lands or nothing is left to
 *   relax; a pod that never lands is retried as written.
 * - Scheduler.add: existing nodes first (initialized before not, then by name; in-flight NodeClaims are
 *   the uninitialized ones), ExistingNode.CanAdd: taints (every effect until PreferNoSchedule is
 *   relaxed), host ports, remaining resources (allocatable less bound pods, less pending pods nominated
 *   there that this solve does not plan, less the compatible DaemonSets' requests not yet running
 *   there), the pod's node requirements and volume zones, topology. Then the claims opened in this
 *   solve, fewest pods first, keeping every instance type the claim's pods still fit. Then a new claim,
 *   NodePools by weight (equal weights by name descending), its types cut to the NodePool's remaining
 *   limits (filterByRemainingResources; the claim's largest option is charged, subtractMax).
 * - Launch: the AWS provider's exotic filter (metal, GPUs and accelerators dropped while another option
 *   remains, unless the NodePool has minValues), spot priced above the cheapest on-demand option
 *   dropped, the options by price (at most `maxInstanceTypes`, default 600), the cheapest offering.
 *
 * Topology as Karpenter's topology groups do it: zone spread pins the claim to the least-loaded allowed
 * zone; zone pod affinity to the zones already holding a match (the first, self-selecting pod pins the
 * first zone by name); hostname spread counts the node's pods with a minimum of 0 (a new node is always
 * possible); hostname anti-affinity is checked both ways, bound pods included. Pods bound to existing
 * nodes count in their node's zone and hostname. Not modelled (a `constraint_not_enforced` warning
 * says so when a pending pod has one): hostname pod affinity, zone anti-affinity, spread on other keys,
 * affinity terms naming other namespaces. Not modelled at all: capacity reservations (reserved
 * offerings are not launched), volume attachment limits (the model has none), minValues while packing
 * (checked at launch: a claim short of them is not launched under Strict, annotated under BestEffort).
 */
export interface KarpenterProvisionResult {
  costPerHour: number;
  /** `costPerHour` split by what is paid for (instance, volumes, addresses, credits, fees). */
  costBreakdown: Costs;
  nodes: number;
  scheduledPods: number;
  /** Per claim: the zones it may launch in and how many pods it holds. */
  claims: { zones: string[]; pods: number }[];
}

/** What the summary reads: pending pods, NodePools, their catalogs and DaemonSets (existing nodes optional). */
export type KarpenterProvisionInput = Pick<
  ProvisioningInput,
  "pods" | "nodePools" | "instanceTypes" | "daemonSets"
> &
  Partial<Pick<ProvisioningInput, "nodes" | "options">>;

/** Options of `karpenterProvision`. */
export interface KarpenterProvisionOptions {
  /**
   * The provider's launch-time exotic filter (AWS: bare metal, GPUs, accelerators); default: the type's
   * `exotic` mark as the provider set it.
   */
  isExotic?: (type: InstanceType) => boolean;
}

const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";
const CAPACITY_TYPE = "karpenter.sh/capacity-type";
const INSTANCE_TYPE = "node.kubernetes.io/instance-type";
const NODEPOOL = "karpenter.sh/nodepool";
const DEFAULT_MAX_INSTANCE_TYPES = 600;

interface PoolType {
  type: InstanceType;
  /** Allocatable less the pool's DaemonSet overhead on this type. */
  alloc: Record<string, number>;
  /** The pool's DaemonSet requests on this type. */
  overhead: Record<string, number>;
  /** Zone -> cheapest offering the pool accepts there. */
  zonePrice: Map<string, Offering>;
  /** Every available, non-reserved offering the pool accepts. */
  offerings: Offering[];
  /** Karpenter's launch filter drops it while another option remains (metal, GPUs, accelerators). */
  exotic: boolean;
  /** Node labels other than zone and capacity type. */
  labels: Record<string, string>;
}

interface PoolView {
  pool: NodePool;
  /** A NodePool with minValues keeps exotic types (Karpenter's filter is skipped then). */
  keepsExotic: boolean;
  index: number;
  types: PoolType[];
  zones: string[];
}

/** Where a pod (by its node-facing constraints) may run in one pool: zones per type, null = not at all. */
type PodCompat = (Set<string> | null)[];

/** A label selector counted in one namespace (a spread's selector with its matchLabelKeys, or an affinity term's). */
interface Tracked {
  key: string;
  namespace: string;
  selector: LabelSelector;
  /**
   * A zone spread's node filter (nodeAffinityPolicy Honor): the pod as written, whose own node
   * requirements an existing node must meet for its pods to count.
   */
  filter?: { pod: Pod; affinity: boolean; taints: boolean };
}

interface Topology {
  spreadZone: (Tracked & {
    maxSkew: number;
    honorAffinity: boolean;
    honorTaints: boolean;
    minDomains: number | undefined;
  })[];
  affinityZone: Tracked[];
  spreadHost: (Tracked & { maxSkew: number })[];
  antiHost: Tracked[];
  /** A constraint this provisioner does not enforce. */
  unenforced: boolean;
}

interface HostPort {
  port: number;
  protocol: string;
  hostIP: string;
}

/** What every node-like target tracks for topology and host ports. */
interface Occupancy {
  /** Tracked hostname selector key -> matching pods on this node. */
  hostCounts: Map<string, number>;
  /** Required hostname anti-affinity terms of the node's pods. */
  anti: Tracked[];
  ports: HostPort[];
  /** Pods this solve put here. */
  pods: Pod[];
}

interface Claim extends Occupancy {
  view: PoolView;
  used: Record<string, number>;
  options: number[];
  headroom: Record<string, number>;
  zones: Set<string>;
}

interface Existing extends Occupancy {
  node: Node;
  zone: string | undefined;
  remaining: Record<string, number>;
}

/** Why a pod's last try failed beyond what the NodePools themselves say (diagnosed after the solve). */
type Stop =
  | { kind: "pool" }
  | { kind: "limit"; reason: UnschedulableReason }
  | { kind: "topology"; reason: UnschedulableReason };

/** The solve: where every pending pod went, or why not. */
interface Solved {
  pools: PoolView[];
  existing: Existing[];
  /** Claims in the order they were opened. */
  opened: Claim[];
  /** Pending pods never placed, with the pod as last tried and why. */
  failed: { pod: Pod; tried: Pod; stop: Stop }[];
  /** Pods that landed only after relaxing preferences. */
  relaxed: string[];
  unenforced: number;
  scheduled: number;
}

/**
 * Karpenter's provisioning of the pending pods of `input` (see above): a Plan (CONTRACTS.md) with the
 * claims to launch, where every pending pod goes (existing nodes, in-flight claims and new claims), the
 * pods left pending with their reason, the costs, and nodeplan's proven lower bound on the cost of new
 * capacity for the pods the plan puts on new claims.
 */
export function karpenterProvision(input: ProvisioningInput, options: KarpenterProvisionOptions = {}): Plan {
  const solved = solve(input, options);
  const strict = (input.options?.minValuesPolicy ?? "Strict") === "Strict";
  const maxTypes = input.options?.maxInstanceTypes ?? DEFAULT_MAX_INSTANCE_TYPES;
  const counters = new Map<string, number>();
  const nodeClaims: PlannedNodeClaim[] = [];
  const unschedulable: Plan["unschedulable"] = [];
  const placements: Plan["placements"] = [];
  for (const e of solved.existing)
    for (const p of e.pods) placements.push({ pod: podKey(p), node: e.node.name });
  for (const claim of solved.opened) {
    const launch = launchOf(claim, maxTypes);
    const pods = claim.pods.map(podKey);
    if (launch === undefined || (launch.short !== undefined && strict)) {
      const reason: UnschedulableReason =
        launch?.short !== undefined
          ? { code: "min_values_unsatisfiable", ...launch.short, nodePool: claim.view.pool.name }
          : { code: "no_available_offering", nodePool: claim.view.pool.name, zones: [...claim.zones].sort() };
      for (const pod of pods) unschedulable.push({ pod, reason, message: renderUnschedulable(reason) });
      continue;
    }
    const pool = claim.view.pool.name;
    const index = counters.get(pool) ?? 0;
    counters.set(pool, index + 1);
    const name = input.options?.claimName?.(pool, index) ?? `${pool}-${index}`;
    const nc: PlannedNodeClaim = {
      name,
      nodePool: pool,
      instanceType: launch.chosen.type.name,
      instanceTypeOptions: launch.options,
      zone: launch.offering.zone,
      capacityType: launch.offering.capacityType,
      pricePerHour: launch.offering.pricePerHour,
      costs: offeringCosts(launch.offering),
      worstPricePerHour: launch.worst,
      requirements: claimRequirements(claim, launch),
      daemonSetOverhead: { ...launch.chosen.overhead },
      pods,
    };
    if (launch.short !== undefined) nc.annotations = { "karpenter.sh/nodeclaim-min-values-relaxed": "true" };
    nodeClaims.push(nc);
    for (const pod of pods) placements.push({ pod, node: name });
  }
  for (const f of solved.failed) {
    const reason = reasonFor(input, solved, f);
    unschedulable.push({ pod: podKey(f.pod), reason, message: renderUnschedulable(reason) });
  }
  placements.sort((a, b) => cmp(a.pod, b.pod));
  unschedulable.sort((a, b) => cmp(a.pod, b.pod));
  const currentPerHour = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  const newPerHour = nodeClaims.reduce((s, c) => s + c.pricePerHour, 0);
  const bound =
    nodeClaims.length === 0
      ? { lowerBoundPerHour: 0, method: "none", certificate: null, description: undefined }
      : boundForClaims(input, nodeClaims);
  const lowerBoundPerHour = Math.min(bound.lowerBoundPerHour, newPerHour);
  const warnings: Plan["warnings"] = [];
  if (solved.unenforced > 0)
    warnings.push({
      code: "constraint_not_enforced",
      message: `${solved.unenforced} pending pods have constraints Karpenter's provisioner here does not model (hostname pod affinity, zone anti-affinity, spread on other keys, or affinity terms naming other namespaces): their placement may break them`,
    });
  if (solved.relaxed.length > 0) {
    const pods = [...solved.relaxed].sort();
    warnings.push({
      code: "preference_relaxed",
      message: `${pods.length} pods had preferences relaxed to schedule: ${pods.slice(0, 5).join(", ")}${pods.length > 5 ? ", ..." : ""}`,
    });
  }
  return {
    nodeClaims,
    placements,
    unschedulable,
    cost: {
      currentPerHour,
      newPerHour,
      plannedPerHour: currentPerHour + newPerHour,
      lowerBoundPerHour,
      ratio: lowerBoundPerHour > 0 ? newPerHour / lowerBoundPerHour : null,
      breakdown: {
        current: currentCosts(input),
        new: sumCosts(nodeClaims.map((c) => c.costs ?? offeringCosts(c))),
      },
    },
    lowerBound: {
      method: bound.method,
      certificate: bound.certificate,
      ...(bound.description === undefined ? {} : { description: bound.description }),
    },
    warnings,
    errors: [],
  };
}

/**
 * The benchmark's figures for Karpenter's provisioning: the same solve as `karpenterProvision`, each
 * claim priced at the cheapest offering of its options in its zones after the exotic filter, without
 * building the Plan or its bound (the bench runs it at 100k pods).
 */
export function karpenterProvisionSummary(
  input: KarpenterProvisionInput,
  options: KarpenterProvisionOptions = {},
): KarpenterProvisionResult {
  const solved = solve({ nodes: [], ...input }, options);
  let cost = 0;
  const launched: Offering[] = [];
  for (const claim of solved.opened) {
    const types = claim.options.map((i) => claim.view.types[i] as PoolType);
    const generic = claim.view.keepsExotic ? types : types.filter((pt) => !pt.exotic);
    let best: Offering | undefined;
    for (const pt of generic.length > 0 ? generic : types)
      for (const [z, o] of pt.zonePrice)
        if (claim.zones.has(z) && (best === undefined || o.pricePerHour < best.pricePerHour)) best = o;
    if (best === undefined) continue;
    cost += best.pricePerHour;
    launched.push(best);
  }
  return {
    costPerHour: cost,
    costBreakdown: sumCosts(launched.map(offeringCosts)),
    nodes: solved.opened.length,
    scheduledPods: solved.scheduled,
    claims: solved.opened.map((c) => ({ zones: [...c.zones].sort(), pods: c.pods.length })),
  };
}

/** The scheduling simulation itself. */
function solve(
  input: KarpenterProvisionInput & Pick<ProvisioningInput, "nodes">,
  options: KarpenterProvisionOptions,
): Solved {
  const isExotic = options.isExotic ?? ((t: InstanceType) => t.exotic === true);
  const daemonSets = input.daemonSets ?? [];
  // NodePools by weight, equal weights by name descending (Karpenter's order).
  const pools = [...input.nodePools]
    .sort((a, b) => b.weight - a.weight || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
    .map((p, i) => poolView(p, i, instanceTypesFor(input, p.name), daemonSets, isExotic));
  const pending = input.pods.filter(isProvisionable);
  const policy = input.options?.preferencePolicy ?? "Respect";
  // Karpenter relaxes PreferNoSchedule taints by tolerating them: hard until then.
  const preferNoSchedule = [
    ...input.nodePools.flatMap((p) => p.template.taints),
    ...input.nodes.flatMap((n) => n.taints),
  ].filter((t) => t.effect === "PreferNoSchedule");
  // Karpenter's queue: cpu, then memory descending, then creation time, then uid.
  const queue = [...pending].sort(
    (a, b) =>
      (b.requests.cpuMillis ?? 0) - (a.requests.cpuMillis ?? 0) ||
      (b.requests.memoryBytes ?? 0) - (a.requests.memoryBytes ?? 0) ||
      (a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : 0) ||
      (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
  );
  /** Per pending pod, its forms from all preferences kept (level 0) to all relaxed. */
  const levels = new Map<Pod, Pod[]>();
  /** Each form's pod as written: its own requirements decide its spread domains (NewStrictPodRequirements). */
  const asWritten = new Map<Pod, Pod>();
  for (const p of queue) {
    const steps = policy === "Ignore" ? 0 : relaxationSteps(p, preferNoSchedule);
    const forms: Pod[] = [];
    for (let l = 0; l <= steps; l++) forms.push(withPreferences(p, l, policy, preferNoSchedule));
    levels.set(p, forms);
    for (const f of forms) asWritten.set(f, p);
  }
  const topologyCache = new Map<Pod, Topology>();
  const topologyOf = (p: Pod): Topology => {
    let t = topologyCache.get(p);
    if (t === undefined) {
      t = topology(p, asWritten.get(p) ?? p);
      topologyCache.set(p, t);
    }
    return t;
  };
  // Every selector some pod's zone or hostname constraint counts with (the most constrained forms
  // carry every selector a relaxed form can).
  const zoneSelectors = new Map<string, Tracked>();
  const hostSelectors = new Map<string, Tracked>();
  let unenforced = 0;
  for (const forms of levels.values()) {
    const t = topologyOf(forms[0] as Pod);
    if (t.unenforced) unenforced++;
    for (const c of [...t.spreadZone, ...t.affinityZone]) zoneSelectors.set(c.key, c);
    for (const c of [...t.spreadHost, ...t.antiHost]) hostSelectors.set(c.key, c);
  }
  const zoneCounts = new Map<string, Map<string, number>>(
    [...zoneSelectors.keys()].map((k) => [k, new Map()]),
  );
  /** Counts `pod` in `zone`; `nodeLabels` when it is on an existing node (a spread's node filter applies). */
  const recordZone = (pod: Pod, zone: string, node?: Node) => {
    for (const [key, sel] of zoneSelectors) {
      if (!selects(sel, pod)) continue;
      if (node !== undefined && sel.filter !== undefined && !nodePasses(sel.filter, node)) continue;
      const counts = zoneCounts.get(key) as Map<string, number>;
      counts.set(zone, (counts.get(zone) ?? 0) + 1);
    }
  };
  const recordHost = (at: Occupancy, pod: Pod) => {
    for (const [key, sel] of hostSelectors)
      if (selects(sel, pod)) at.hostCounts.set(key, (at.hostCounts.get(key) ?? 0) + 1);
  };

  const existing = existingTargets(input, daemonSets, pending);
  // Bound pods count in their node's domains; their hostname anti-affinity holds both ways.
  const byName = new Map(input.nodes.map((n) => [n.name, n]));
  const targetOf = new Map(existing.map((e) => [e.node.name, e]));
  for (const p of input.pods) {
    if (!runsOn(p)) continue;
    const node = byName.get(p.nodeName as string);
    if (node === undefined) continue;
    const zone = node.labels[ZONE];
    if (zone !== undefined) recordZone(p, zone, node);
    const target = targetOf.get(node.name);
    if (target === undefined) continue;
    recordHost(target, p);
    for (const term of p.podAntiAffinity.required)
      if (term.topologyKey === HOSTNAME && term.labelSelector !== undefined)
        target.anti.push(tracked(p.namespace, term.labelSelector, []));
    for (const hp of p.hostPorts) target.ports.push(hp);
  }

  // Pods with equal node-facing constraints share their compatibility (per pool, computed on first use).
  const compatByKey = new Map<string, (PodCompat | undefined)[]>();
  const compatOf = (pod: Pod, view: PoolView): PodCompat => {
    const key = JSON.stringify([
      pod.nodeSelector,
      pod.requiredNodeAffinity,
      pod.tolerations,
      pod.volumeRequirements,
    ]);
    let perPool = compatByKey.get(key);
    if (perPool === undefined) {
      perPool = pools.map(() => undefined);
      compatByKey.set(key, perPool);
    }
    let c = perPool[view.index];
    if (c === undefined) {
      c = podCompat(pod, view);
      perPool[view.index] = c;
    }
    return c;
  };
  // What each limited NodePool has left (limits less its nodes' capacity), Karpenter's remainingResources.
  const remaining = new Map<string, Record<string, number>>();
  for (const pool of input.nodePools) {
    const entries = Object.entries(pool.limits).filter(([, v]) => Number.isFinite(v));
    if (entries.length === 0) continue;
    const left: Record<string, number> = Object.fromEntries(entries);
    for (const n of input.nodes) {
      if (n.nodePool !== pool.name) continue;
      for (const k of Object.keys(left))
        left[k] = (left[k] as number) - (k === "nodes" ? 1 : (n.capacity[k] ?? n.allocatable[k] ?? 0));
    }
    remaining.set(pool.name, left);
  }

  /**
   * The zones a pod's zone spread counts (its eligible domains): every zone an existing node or a
   * NodePool's offering is in, where the pod's node requirements allow it when nodeAffinityPolicy is
   * Honor (the default). Taints do not narrow them (nodeTaintsPolicy Ignore, the default).
   */
  const domainsCache = new Map<string, string[]>();
  const domainsFor = (form: Pod, honor: boolean, honorTaints: boolean): string[] => {
    // A preference made a requirement does not narrow the domains; only the pod's own requirements do.
    const pod = asWritten.get(form) ?? form;
    const key = JSON.stringify([
      honor ? [pod.nodeSelector, pod.requiredNodeAffinity, pod.volumeRequirements] : null,
      honorTaints ? pod.tolerations : null,
    ]);
    let out = domainsCache.get(key);
    if (out === undefined) {
      const zones = new Set<string>();
      for (const view of pools) {
        if (honorTaints && !tolerates(pod.tolerations, view.pool.template.taints)) continue;
        for (const pt of view.types)
          for (const z of pt.zonePrice.keys())
            if (!zones.has(z) && (!honor || matchesNode(pod, { ...pt.labels, [ZONE]: z }))) zones.add(z);
      }
      for (const n of input.nodes) {
        const z = n.labels[ZONE];
        if (z !== undefined && nodePasses({ pod, affinity: honor, taints: honorTaints }, n)) zones.add(z);
      }
      out = [...zones].sort();
      domainsCache.set(key, out);
    }
    return out;
  };

  /** Zones a pod's zone topology allows among `zones`, given the counts so far. */
  const zoneTopology = (pod: Pod, t: Topology, zones: Set<string>): Set<string> => {
    let out = zones;
    for (const c of t.spreadZone) {
      const counts = zoneCounts.get(c.key) as Map<string, number>;
      const self = selects(c, pod) ? 1 : 0;
      const domains = domainsFor(pod, c.honorAffinity, c.honorTaints);
      const globalMin =
        domains.length === 0 || (c.minDomains !== undefined && domains.length < c.minDomains)
          ? 0
          : Math.min(...domains.map((z) => counts.get(z) ?? 0));
      let best: string | undefined;
      for (const z of [...out].sort()) {
        const n = (counts.get(z) ?? 0) + self;
        if (n - globalMin <= c.maxSkew && (best === undefined || n < (counts.get(best) ?? 0) + self))
          best = z;
      }
      out = new Set(best === undefined ? [] : [best]);
    }
    for (const c of t.affinityZone) {
      const counts = zoneCounts.get(c.key) as Map<string, number>;
      const matched = [...out].filter((z) => (counts.get(z) ?? 0) > 0);
      const anywhere = [...counts.values()].some((n) => n > 0);
      if (matched.length > 0) out = new Set(matched);
      else if (!anywhere && selects(c, pod) && out.size > 0) out = new Set([[...out].sort()[0] as string]);
      else out = new Set();
    }
    return out;
  };
  /** The zone constraint that emptied `zones`, as a reason (for a pod stopped by topology). */
  const topologyReason = (pod: Pod, t: Topology, zones: Set<string>) => {
    let out = zones;
    for (const c of t.spreadZone) {
      out = zoneTopology(pod, { ...t, spreadZone: [c], affinityZone: [] }, out);
      if (out.size === 0) {
        const counts = zoneCounts.get(c.key) as Map<string, number>;
        const domains = domainsFor(pod, c.honorAffinity, c.honorTaints);
        return {
          code: "topology_spread_unsatisfiable",
          topologyKey: ZONE,
          maxSkew: c.maxSkew,
          domains: Object.fromEntries(domains.map((z) => [z, counts.get(z) ?? 0])),
        } satisfies UnschedulableReason;
      }
    }
    return { code: "pod_affinity_unsatisfiable", topologyKey: ZONE } satisfies UnschedulableReason;
  };

  const hostAllows = (pod: Pod, t: Topology, at: Occupancy): boolean => {
    for (const c of t.spreadHost) {
      const self = selects(c, pod) ? 1 : 0;
      if ((at.hostCounts.get(c.key) ?? 0) + self > c.maxSkew) return false;
    }
    for (const c of t.antiHost) if ((at.hostCounts.get(c.key) ?? 0) > 0) return false;
    if (!at.anti.every((s) => !selects(s, pod))) return false;
    return pod.hostPorts.every((hp) => at.ports.every((q) => !portsConflict(hp, q)));
  };

  const place = (at: Occupancy, pod: Pod, t: Topology) => {
    at.pods.push(pod);
    recordHost(at, pod);
    for (const c of t.antiHost) at.anti.push(c);
    for (const hp of pod.hostPorts) at.ports.push(hp);
  };

  // Equal zone sets are one object, so per-pod caches can key on identity.
  const zoneSets = new Map<string, Set<string>>();
  const intern = (zones: Set<string>) => {
    const key = [...zones].sort().join(",");
    const known = zoneSets.get(key);
    if (known !== undefined) return known;
    zoneSets.set(key, zones);
    return zones;
  };

  const commit = (claim: Claim, pod: Pod, t: Topology, zones: Set<string>) => {
    const wasPinned = claim.zones.size === 1;
    claim.zones = intern(zones);
    place(claim, pod, t);
    if (zones.size === 1) {
      const zone = [...zones][0] as string;
      // A claim pinned just now: its earlier pods count in that zone from now on.
      for (const p of wasPinned ? [pod] : claim.pods) recordZone(p, zone);
    }
  };

  const podZonesCache = new WeakMap<PodCompat, Set<string>>();
  /** Every zone the pod may use in the pool at all. */
  const podZones = (compat: PodCompat): Set<string> => {
    let out = podZonesCache.get(compat);
    if (out === undefined) {
      out = new Set<string>();
      for (const c of compat) if (c !== null) for (const z of c) out.add(z);
      podZonesCache.set(compat, out);
    }
    return out;
  };
  /** `zones` within `allowed`: the same set object when nothing is cut (zone sets are interned). */
  const narrowTo = (zones: Set<string>, allowed: Set<string>): Set<string> => {
    for (const z of zones)
      if (!allowed.has(z)) return intern(new Set([...zones].filter((x) => allowed.has(x))));
    return zones;
  };

  /** Types among `candidates` the pod may use in some zone of `zones`. */
  const withZones = (candidates: number[], compat: PodCompat, zones: Set<string>) =>
    candidates.filter((i) => {
      const allowed = compat[i];
      if (allowed === null || allowed === undefined) return false;
      for (const z of zones) if (allowed.has(z)) return true;
      return false;
    });

  /** ExistingNode.CanAdd, then Add. */
  const tryExisting = (pod: Pod, t: Topology): boolean => {
    for (const e of existing) {
      if (!toleratesAll(pod.tolerations, e.node.taints)) continue;
      if (!hostAllows(pod, t, e)) continue;
      if (!fitsRemaining(pod.requests, e.remaining)) continue;
      if (!matchesNode(pod, e.node.labels)) continue;
      if (t.spreadZone.length > 0 || t.affinityZone.length > 0) {
        if (e.zone === undefined) continue;
        if (zoneTopology(pod, t, new Set([e.zone])).size === 0) continue;
      }
      for (const [k, v] of Object.entries(pod.requests)) e.remaining[k] = (e.remaining[k] ?? 0) - v;
      place(e, pod, t);
      if (e.zone !== undefined) recordZone(pod, e.zone, e.node);
      return true;
    }
    return false;
  };

  // Claims opened in this solve are tried fewest pods first (Karpenter sorts them before each pod); the
  // list is kept in that order as pods are added, ties in the order a stable sort would leave them.
  const claims: Claim[] = [];
  const opened: Claim[] = [];
  // A claim that gained a pod moves to the front of its new count's run (where a stable sort leaves
  // it); a new claim goes to the end of the run of one-pod claims.
  const reorder = (claim: Claim, at: number) => {
    const count = claim.pods.length;
    let j = 0;
    if (at >= 0) {
      claims.splice(at, 1);
      j = at;
      while (j < claims.length && (claims[j] as Claim).pods.length < count) j++;
    } else {
      opened.push(claim);
      while (j < claims.length && (claims[j] as Claim).pods.length <= count) j++;
    }
    claims.splice(j, 0, claim);
  };

  const tryClaims = (pod: Pod, t: Topology): boolean => {
    const r = pod.requests;
    const requested = Object.entries(r);
    const zonal = t.spreadZone.length > 0 || t.affinityZone.length > 0;
    // Zone topology depends on the claim's zones only (counts change on placement): once per zone set.
    const zonesFor = new Map<Set<string>, Set<string>>();
    for (let at = 0; at < claims.length; at++) {
      const claim = claims[at] as Claim;
      if (!withinHeadroom(claim, requested) || !hostAllows(pod, t, claim)) continue;
      if (!toleratesAll(pod.tolerations, claim.view.pool.template.taints)) continue;
      const compat = compatOf(pod, claim.view);
      // The claim's zones narrowed to where the pod's own requirements allow it (its requirements
      // join the claim's, as Karpenter's NodeClaim.Add does).
      let zones = narrowTo(claim.zones, podZones(compat));
      if (zonal) {
        const key = claim.zones;
        zones = zonesFor.get(key) ?? zoneTopology(pod, t, key);
        zonesFor.set(key, zones);
      }
      if (zones.size === 0) continue;
      const next = addTo(claim.used, r);
      const fitting = claim.options.filter((i) => fits(next, (claim.view.types[i] as PoolType).alloc));
      const options = withZones(fitting, compat, zones);
      if (options.length === 0) continue;
      claim.used = next;
      claim.options = options;
      claim.headroom = headroom(next, options, claim.view);
      commit(claim, pod, t, zones);
      reorder(claim, at);
      return true;
    }
    return false;
  };

  /** Scheduler.addToNewNodeClaim; `stop` records why the last NodePool tried could not take it. */
  const tryNew = (pod: Pod, t: Topology): Stop | undefined => {
    const r = pod.requests;
    let stop: Stop = { kind: "pool" };
    for (const view of pools) {
      const compat = compatOf(pod, view);
      const left = remaining.get(view.pool.name);
      if (left !== undefined && left.nodes !== undefined && left.nodes <= 0) {
        if (stop.kind === "pool" && compat.some((c) => c !== null))
          stop = { kind: "limit", reason: limitReason(view.pool, "nodes", left) };
        continue;
      }
      const fittingAll = view.types.flatMap((pt, i) => (compat[i] && fits(r, pt.alloc) ? [i] : []));
      const fitting =
        left === undefined
          ? fittingAll
          : fittingAll.filter((i) => withinLimits((view.types[i] as PoolType).type.capacity, left));
      if (fitting.length === 0) {
        if (fittingAll.length > 0 && stop.kind === "pool" && left !== undefined) {
          const over = Object.keys(left).find((k) =>
            fittingAll.every((i) => ((view.types[i] as PoolType).type.capacity[k] ?? 0) > (left[k] ?? 0)),
          );
          stop = { kind: "limit", reason: limitReason(view.pool, over ?? "cpuMillis", left) };
        }
        continue;
      }
      const reachable = new Set(fitting.flatMap((i) => [...(compat[i] as Set<string>)]));
      const zones = zoneTopology(pod, t, reachable);
      const options = withZones(fitting, compat, zones);
      if (options.length === 0) {
        if (stop.kind === "pool") stop = { kind: "topology", reason: topologyReason(pod, t, reachable) };
        continue;
      }
      const used = addTo({}, r);
      const claim: Claim = {
        view,
        used,
        options,
        headroom: headroom(used, options, view),
        zones: new Set(),
        pods: [],
        hostCounts: new Map(),
        anti: [],
        ports: [],
      };
      commit(claim, pod, t, zones);
      reorder(claim, -1);
      if (left !== undefined) {
        // subtractMax: the claim may launch as its largest option.
        for (const k of Object.keys(left)) {
          if (k === "nodes") left[k] = (left[k] as number) - 1;
          else {
            let max = 0;
            for (const i of options) max = Math.max(max, (view.types[i] as PoolType).type.capacity[k] ?? 0);
            left[k] = (left[k] as number) - max;
          }
        }
      }
      return undefined;
    }
    return stop;
  };

  // Queue.Pop / Push: a failed pod goes to the back; the solve ends when the pod at the front was pushed
  // back with the queue at its present length (a full round without progress).
  const q: Pod[] = [...queue];
  let head = 0;
  const lastLen = new Map<Pod, number>();
  const stops = new Map<Pod, { tried: Pod; stop: Stop }>();
  const relaxed: string[] = [];
  let scheduled = 0;
  while (head < q.length) {
    const pod = q[head] as Pod;
    if (lastLen.get(pod) === q.length - head) break;
    head++;
    const forms = levels.get(pod) as Pod[];
    let placed = false;
    let last: { tried: Pod; stop: Stop } | undefined;
    for (let l = 0; l < forms.length && !placed; l++) {
      const form = forms[l] as Pod;
      const t = topologyOf(form);
      if (tryExisting(form, t) || tryClaims(form, t)) placed = true;
      else {
        const stop = tryNew(form, t);
        if (stop === undefined) placed = true;
        else last = { tried: form, stop };
      }
      if (placed && l > 0) relaxed.push(podKey(pod));
    }
    if (placed) {
      scheduled++;
      stops.delete(pod);
    } else {
      q.push(pod);
      lastLen.set(pod, q.length - head);
      stops.set(pod, last as { tried: Pod; stop: Stop });
    }
  }
  const failed = [...stops].map(([pod, s]) => ({ pod, ...s }));
  return { pools, existing, opened, failed, relaxed, unenforced, scheduled };
}

/** Existing nodes and in-flight claims that take pods, in Karpenter's order, with what each has left. */
function existingTargets(
  input: Pick<ProvisioningInput, "nodes" | "pods">,
  daemonSets: readonly DaemonSet[],
  pending: readonly Pod[],
): Existing[] {
  const planned = new Set(pending);
  const used = new Map<string, Record<string, number>>();
  const daemonsRunning = new Map<string, Record<string, number>>();
  const add = (into: Map<string, Record<string, number>>, node: string, r: ResourceVector) => {
    const sum = into.get(node) ?? {};
    for (const [k, v] of Object.entries(r)) sum[k] = (sum[k] ?? 0) + v;
    into.set(node, sum);
  };
  for (const p of input.pods) {
    if (runsOn(p)) {
      add(used, p.nodeName as string, p.requests);
      if (p.daemonSet) add(daemonsRunning, p.nodeName as string, p.requests);
      continue;
    }
    // A pending pod nominated to a node that this solve does not plan keeps its room there.
    const nominated = (p as Pod & { nominatedNode?: string }).nominatedNode;
    if (nominated !== undefined && p.nodeName === undefined && !p.terminating && !planned.has(p))
      add(used, nominated, p.requests);
  }
  const initialized = (n: Node) => n.initialized && !n.inFlight;
  return input.nodes
    .filter((n) => !n.deleting && !n.unschedulable)
    .sort((a, b) => Number(initialized(b)) - Number(initialized(a)) || cmp(a.name, b.name))
    .map((node) => {
      const remaining: Record<string, number> = { ...node.allocatable };
      for (const [k, v] of Object.entries(used.get(node.name) ?? {})) remaining[k] = (remaining[k] ?? 0) - v;
      // DaemonSets that will run here but are not running yet (Karpenter clamps each at 0).
      const daemons: Record<string, number> = {};
      for (const ds of daemonSets)
        if (tolerates(ds.tolerations, node.taints) && matchesNode(ds, node.labels))
          for (const [k, v] of Object.entries(ds.requests)) daemons[k] = (daemons[k] ?? 0) + v;
      const running = daemonsRunning.get(node.name) ?? {};
      for (const [k, v] of Object.entries(daemons))
        remaining[k] = (remaining[k] ?? 0) - Math.max(0, v - (running[k] ?? 0));
      return {
        node,
        zone: node.labels[ZONE],
        remaining,
        hostCounts: new Map(),
        anti: [],
        ports: [],
        pods: [],
      };
    });
}

/** A pod that holds room on its node: bound, not terminating, not finished. */
function runsOn(p: Pod): boolean {
  return p.nodeName !== undefined && !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";
}

/** A claim's launch: its options after the launch filters, the chosen offering, its worst price. */
interface Launch {
  /** Instance type names by price (cheapest launchable offering), at most `maxInstanceTypes`. */
  options: string[];
  chosen: PoolType;
  offering: Offering;
  worst: number;
  zones: string[];
  capacityTypes: string[];
  short: { key: string; minValues: number; available: number } | undefined;
}

/**
 * The AWS launch path for a claim: exotic types dropped while another option remains (unless the
 * NodePool has minValues), offerings in the claim's zones, spot priced above the cheapest on-demand
 * option dropped (SpotInstanceFilter), options by price cut to `maxTypes`, the cheapest offering.
 */
function launchOf(claim: Claim, maxTypes: number): Launch | undefined {
  const types = claim.options.map((i) => claim.view.types[i] as PoolType);
  const generic = claim.view.keepsExotic ? types : types.filter((pt) => !pt.exotic);
  const candidates = generic.length > 0 ? generic : types;
  const inZones = (pt: PoolType) => pt.offerings.filter((o) => claim.zones.has(o.zone));
  const ceilingOf = (pts: readonly PoolType[]) => {
    let anySpot = false;
    let ceiling = Number.POSITIVE_INFINITY;
    for (const pt of pts)
      for (const o of inZones(pt)) {
        if (o.capacityType === "spot") anySpot = true;
        if (o.capacityType === "on-demand") ceiling = Math.min(ceiling, o.pricePerHour);
      }
    return anySpot ? ceiling : Number.POSITIVE_INFINITY;
  };
  const launchable = (pt: PoolType, ceiling: number) =>
    inZones(pt).filter((o) => o.capacityType !== "spot" || o.pricePerHour <= ceiling);
  const ceiling = ceilingOf(candidates);
  const priced = candidates
    .map((pt) => ({ pt, offerings: launchable(pt, ceiling) }))
    .filter((x) => x.offerings.length > 0)
    .map((x) => ({ ...x, cheapest: Math.min(...x.offerings.map((o) => o.pricePerHour)) }))
    .sort((a, b) => a.cheapest - b.cheapest || cmp(a.pt.type.name, b.pt.type.name))
    .slice(0, maxTypes);
  if (priced.length === 0) return undefined;
  // The validator's (and the launcher's) view: the spot ceiling over the options as listed.
  const kept = priced.map((x) => x.pt);
  const finalCeiling = ceilingOf(kept);
  let best: { pt: PoolType; o: Offering } | undefined;
  let worst = 0;
  const zones = new Set<string>();
  const capacityTypes = new Set<string>();
  for (const pt of kept)
    for (const o of launchable(pt, finalCeiling)) {
      worst = Math.max(worst, o.pricePerHour);
      zones.add(o.zone);
      capacityTypes.add(o.capacityType);
      if (
        best === undefined ||
        o.pricePerHour < best.o.pricePerHour ||
        (o.pricePerHour === best.o.pricePerHour && cmp(o.zone, best.o.zone) < 0)
      )
        best = { pt, o };
    }
  if (best === undefined) return undefined;
  const withMin = claim.view.pool.template.requirements.filter((r) => r.minValues !== undefined);
  const short =
    withMin.length === 0
      ? undefined
      : checkMinValues(Requirements.fromNodeSelectorRequirements(withMin), [
          ...kept.map((pt) => ({ labels: { ...pt.labels, [INSTANCE_TYPE]: pt.type.name } })),
          ...[...zones].map((z) => ({ labels: { [ZONE]: z } })),
          ...[...capacityTypes].map((c) => ({ labels: { [CAPACITY_TYPE]: c } })),
        ])[0];
  return {
    options: kept.map((pt) => pt.type.name),
    chosen: best.pt,
    offering: best.o,
    worst,
    zones: [...zones].sort(),
    capacityTypes: [...capacityTypes].sort(),
    short,
  };
}

/** The NodePool's requirements narrowed to the launch: capacity types, NodePool, instance types, zones. */
function claimRequirements(claim: Claim, launch: Launch): NodeSelectorRequirement[] {
  const narrowed = new Set([INSTANCE_TYPE, ZONE, CAPACITY_TYPE, NODEPOOL]);
  const poolReqs = claim.view.pool.template.requirements;
  // nodeSelector labels of the claim's pods on keys the NodePool leaves open.
  const values = new Map<string, string>();
  for (const p of claim.pods)
    for (const [k, v] of Object.entries(p.nodeSelector)) if (!narrowed.has(k)) values.set(k, v);
  const fromPods = [...values.entries()]
    .filter(([k]) => !poolReqs.some((r) => r.key === k && r.operator === "In" && r.values.length === 1))
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([k, v]) => ({ key: k, operator: "In" as const, values: [v] }));
  return [
    ...poolReqs.filter((r) => !narrowed.has(r.key)),
    ...fromPods,
    { key: CAPACITY_TYPE, operator: "In", values: launch.capacityTypes },
    { key: NODEPOOL, operator: "In", values: [claim.view.pool.name] },
    { key: INSTANCE_TYPE, operator: "In", values: launch.options },
    { key: ZONE, operator: "In", values: launch.zones },
  ];
}

/** Why a pod never landed: topology or limits as the solve saw them, else the NodePools' own reasons. */
function reasonFor(
  input: ProvisioningInput,
  solved: Solved,
  f: { pod: Pod; tried: Pod; stop: Stop },
): UnschedulableReason {
  if (f.stop.kind !== "pool") return f.stop.reason;
  if (solved.pools.length > 0 && solved.pools.some((v) => v.types.length > 0)) {
    // Pods nodeplan's diagnosis can read: the pod as last tried, on the NodePools alone.
    const probe = { ...input, pods: [f.tried], nodes: [] };
    const enc = encode(probe);
    const group = enc.groups[0];
    if (group !== undefined) return diagnoseUnplaced(enc, group, 0, probe, new Map());
  }
  return { code: "no_available_offering" };
}

function limitReason(pool: NodePool, resource: string, left: Record<string, number>): UnschedulableReason {
  const limit = pool.limits[resource] ?? 0;
  return {
    code: "nodepool_limit_reached",
    nodePool: pool.name,
    resource,
    limit,
    used: limit - (left[resource] ?? 0),
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

/** Hard taints (NoSchedule, NoExecute) the tolerations do not cover: a DaemonSet's view. */
function tolerates(tolerations: readonly Toleration[], taints: readonly Taint[]): boolean {
  return taints.every((t) => t.effect === "PreferNoSchedule" || toleratesAny(tolerations, t));
}

/** Karpenter's Taints.ToleratesPod: every taint, PreferNoSchedule included (relaxation tolerates those). */
function toleratesAll(tolerations: readonly Toleration[], taints: readonly Taint[]): boolean {
  return taints.every((t) => toleratesAny(tolerations, t));
}

function matchesNode(
  pod: Pick<Pod, "nodeSelector" | "requiredNodeAffinity"> & Partial<Pick<Pod, "volumeRequirements">>,
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector)) if (labels[k] !== v) return false;
  for (const r of pod.volumeRequirements ?? []) if (!matchesNodeSelectorRequirement(labels, r)) return false;
  return pod.requiredNodeAffinity.length === 0 || matchesNodeSelectorTerms(labels, pod.requiredNodeAffinity);
}

/** The types a NodePool accepts, with the DaemonSet overhead its nodes carry. */
function poolView(
  pool: NodePool,
  index: number,
  types: readonly InstanceType[],
  daemonSets: readonly DaemonSet[],
  isExotic: (type: InstanceType) => boolean,
): PoolView {
  const out: PoolType[] = [];
  const allZones = new Set<string>();
  for (const type of types) {
    const labels = { ...type.labels, ...pool.template.labels, [NODEPOOL]: pool.name };
    const zonePrice = new Map<string, Offering>();
    const offerings: Offering[] = [];
    for (const o of type.offerings) {
      // Capacity reservations are not modelled: reserved offerings are never launched.
      if (!o.available || o.capacityType === "reserved") continue;
      const full = { ...labels, [ZONE]: o.zone, [CAPACITY_TYPE]: o.capacityType };
      if (!pool.template.requirements.every((r) => matchesNodeSelectorRequirement(full, r))) continue;
      offerings.push(o);
      const known = zonePrice.get(o.zone);
      if (known === undefined || o.pricePerHour < known.pricePerHour) zonePrice.set(o.zone, o);
    }
    if (zonePrice.size === 0) continue;
    const alloc: Record<string, number> = { ...type.allocatable };
    const overhead: Record<string, number> = {};
    for (const ds of daemonSets)
      if (tolerates(ds.tolerations, pool.template.taints) && matchesNode(ds, labels))
        for (const [k, v] of Object.entries(ds.requests)) {
          alloc[k] = (alloc[k] ?? 0) - v;
          overhead[k] = (overhead[k] ?? 0) + v;
        }
    if (Object.values(alloc).some((v) => v < 0)) continue;
    for (const z of zonePrice.keys()) allZones.add(z);
    out.push({ type, alloc, overhead, zonePrice, offerings, labels, exotic: isExotic(type) });
  }
  const keepsExotic = pool.template.requirements.some((r) => r.minValues !== undefined);
  return { pool, keepsExotic, index, types: out, zones: [...allZones].sort() };
}

function podCompat(pod: Pod, view: PoolView): PodCompat {
  if (!toleratesAll(pod.tolerations, view.pool.template.taints)) return view.types.map(() => null);
  return view.types.map((pt) => {
    const zones = new Set<string>();
    for (const z of pt.zonePrice.keys()) if (matchesNode(pod, { ...pt.labels, [ZONE]: z })) zones.add(z);
    return zones.size > 0 ? zones : null;
  });
}

/** A selector counted in `namespace`, with `matchLabelKeys` bound to the pod's own values. */
function tracked(namespace: string, selector: LabelSelector, bound: readonly [string, string][]): Tracked {
  const full: LabelSelector =
    bound.length === 0
      ? selector
      : { ...selector, matchLabels: { ...selector.matchLabels, ...Object.fromEntries(bound) } };
  return { key: JSON.stringify([namespace, labelSelectorKey(full)]), namespace, selector: full };
}

function selects(t: Tracked, pod: Pod): boolean {
  return pod.namespace === t.namespace && matchesLabelSelector(t.selector, pod.labels);
}

/** An affinity term this provisioner counts: a selector, in the pod's own namespace. */
function ownNamespaceTerm(pod: Pod, term: PodAffinityTerm): Tracked | undefined {
  if (term.labelSelector === undefined) return undefined;
  if (term.namespaces.some((n) => n !== pod.namespace) || term.namespaceSelector !== undefined)
    return undefined;
  const bound = term.matchLabelKeys.flatMap((k): [string, string][] =>
    pod.labels[k] === undefined ? [] : [[k, pod.labels[k] as string]],
  );
  return tracked(pod.namespace, term.labelSelector, bound);
}

/** The constraints of `pod` (a form of `written`, whose own requirements filter its spreads' nodes). */
function topology(pod: Pod, written: Pod): Topology {
  const t: Topology = { spreadZone: [], affinityZone: [], spreadHost: [], antiHost: [], unenforced: false };
  for (const c of pod.topologySpreadConstraints) {
    if (c.whenUnsatisfiable !== "DoNotSchedule" || c.labelSelector === undefined) continue;
    const bound = c.matchLabelKeys.flatMap((k): [string, string][] =>
      pod.labels[k] === undefined ? [] : [[k, pod.labels[k] as string]],
    );
    const entry = { ...tracked(pod.namespace, c.labelSelector, bound), maxSkew: c.maxSkew };
    if (c.topologyKey === ZONE) {
      const honorAffinity = c.nodeAffinityPolicy === "Honor";
      const honorTaints = c.nodeTaintsPolicy === "Honor";
      const filtered =
        honorAffinity || honorTaints
          ? {
              ...entry,
              key: JSON.stringify([
                entry.key,
                honorAffinity ? [written.nodeSelector, written.requiredNodeAffinity] : null,
                honorTaints ? written.tolerations : null,
              ]),
              filter: { pod: written, affinity: honorAffinity, taints: honorTaints },
            }
          : entry;
      t.spreadZone.push({ ...filtered, honorAffinity, honorTaints, minDomains: c.minDomains });
    } else if (c.topologyKey === HOSTNAME) t.spreadHost.push(entry);
    else t.unenforced = true;
  }
  for (const term of pod.podAffinity.required) {
    const own = ownNamespaceTerm(pod, term);
    if (term.topologyKey === ZONE && own !== undefined) t.affinityZone.push(own);
    else if (term.labelSelector !== undefined) t.unenforced = true;
  }
  for (const term of pod.podAntiAffinity.required) {
    const own = ownNamespaceTerm(pod, term);
    if (term.topologyKey === HOSTNAME && own !== undefined) t.antiHost.push(own);
    else if (term.labelSelector !== undefined) t.unenforced = true;
  }
  return t;
}

/** A spread's node filter: the node counts when it meets the pod's requirements and tolerations as the policies say. */
function nodePasses(filter: { pod: Pod; affinity: boolean; taints: boolean }, node: Node): boolean {
  if (filter.affinity && !matchesNode(filter.pod, node.labels)) return false;
  return !filter.taints || tolerates(filter.pod.tolerations, node.taints);
}

function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.hostIP === b.hostIP || a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0";
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

/** resources.Fits: every request within what the node has left. */
function fitsRemaining(requests: ResourceVector, remaining: Record<string, number>): boolean {
  for (const [k, v] of Object.entries(requests)) if (v > 0 && v > (remaining[k] ?? 0)) return false;
  return true;
}

/** filterByRemainingResources: the type's capacity within what the NodePool's limits leave. */
function withinLimits(capacity: ResourceVector, left: Record<string, number>): boolean {
  for (const [k, v] of Object.entries(left)) if (k !== "nodes" && (capacity[k] ?? 0) > v) return false;
  return true;
}

function headroom(used: ResourceVector, options: number[], view: PoolView): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(used)) {
    let max = 0;
    for (const i of options)
      max = Math.max(max, ((view.types[i] as PoolType).alloc[k] ?? 0) - (used[k] ?? 0));
    out[k] = max;
  }
  return out;
}

function withinHeadroom(claim: Claim, requested: readonly [string, number][]): boolean {
  for (const [k, v] of requested) if (v > (claim.headroom[k] ?? 0)) return false;
  return true;
}
