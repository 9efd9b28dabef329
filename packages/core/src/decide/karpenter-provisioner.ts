import { type Costs, offeringCosts, sumCosts } from "../costs.ts";
import type {
  DaemonSet,
  InstanceType,
  LabelSelector,
  NodePool,
  Offering,
  Pod,
  ResourceVector,
  Taint,
  Toleration,
} from "../model.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { matchesNodeSelectorRequirement, matchesNodeSelectorTerms } from "../requirements.ts";
import { labelSelectorKey, matchesLabelSelector } from "../selectors.ts";
import { toleratesAny } from "../taints.ts";

/**
 * Karpenter's provisioning algorithm (kubernetes-sigs/karpenter pkg/controllers/provisioning/scheduling),
 * the `karpenter` strategy's provisioner and the benchmark's baseline: Karpenter's
 * queue order (cpu then memory descending, then creation time, then uid), first fit into claims opened
 * earlier in the solve, tried fewest pods first, keeping every instance type the claim's pods still fit,
 * a new claim otherwise (NodePools by weight, equal weights by name descending), and at launch the AWS
 * provider's exotic filter (metal, GPUs and accelerators dropped while another option remains) then the
 * cheapest compatible offering. DaemonSet overhead is reserved per
 * NodePool and type. Topology, as Karpenter's topology groups do it: zone spread pins the claim to the
 * least-loaded allowed zone; zone pod affinity to the zones already holding a match (the first,
 * self-selecting pod pins the first zone by name); hostname spread counts the claim's own pods with
 * a minimum of 0 (a new node is always possible); hostname anti-affinity is checked both ways. Pods
 * count in a zone once their claim is pinned to one zone. Not modelled: existing nodes, NodePool
 * limits, hostname pod affinity, zone anti-affinity, host ports and volumes (no bench workload uses
 * them).
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

/** What the provisioner reads: pending pods, NodePools, their catalogs and DaemonSets. */
export type KarpenterProvisionInput = Pick<
  ProvisioningInput,
  "pods" | "nodePools" | "instanceTypes" | "daemonSets"
>;

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

interface PoolType {
  type: InstanceType;
  /** Allocatable less the pool's DaemonSet overhead on this type. */
  alloc: Record<string, number>;
  /** Zone -> cheapest offering the pool accepts there. */
  zonePrice: Map<string, Offering>;
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

interface Claim {
  view: PoolView;
  used: Record<string, number>;
  options: number[];
  headroom: Record<string, number>;
  zones: Set<string>;
  pods: Pod[];
  /** Tracked hostname selector key -> matching pods on this claim. */
  hostCounts: Map<string, number>;
  /** Anti-affinity selectors (hostname) of the claim's pods. */
  anti: LabelSelector[];
}

interface Topology {
  spreadZone: { key: string; selector: LabelSelector; maxSkew: number }[];
  affinityZone: { key: string; selector: LabelSelector }[];
  spreadHost: { key: string; selector: LabelSelector; maxSkew: number }[];
  antiHost: { key: string; selector: LabelSelector }[];
}

/** Karpenter's provisioning of the pending pods `input.pods` onto new NodeClaims. */
export function karpenterProvision(
  input: KarpenterProvisionInput,
  options: KarpenterProvisionOptions = {},
): KarpenterProvisionResult {
  const isExotic = options.isExotic ?? ((t: InstanceType) => t.exotic === true);
  // NodePools by weight, equal weights by name descending (Karpenter's order).
  const pools = [...input.nodePools]
    .sort((a, b) => b.weight - a.weight || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
    .map((p, i) => poolView(p, i, typesFor(input, p.name), input.daemonSets ?? [], isExotic));
  // Karpenter's queue: cpu, then memory descending, then creation time, then uid.
  const queue = [...input.pods].sort(
    (a, b) =>
      (b.requests.cpuMillis ?? 0) - (a.requests.cpuMillis ?? 0) ||
      (b.requests.memoryBytes ?? 0) - (a.requests.memoryBytes ?? 0) ||
      (a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : 0) ||
      (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
  );
  const topologyOf = new Map<Pod, Topology>(queue.map((p) => [p, topology(p)]));
  // Every selector some pod's zone or hostname constraint counts with.
  const zoneSelectors = new Map<string, LabelSelector>();
  const hostSelectors = new Map<string, LabelSelector>();
  for (const t of topologyOf.values()) {
    for (const c of [...t.spreadZone, ...t.affinityZone]) zoneSelectors.set(c.key, c.selector);
    for (const c of [...t.spreadHost, ...t.antiHost]) hostSelectors.set(c.key, c.selector);
  }
  const zoneCounts = new Map<string, Map<string, number>>(
    [...zoneSelectors.keys()].map((k) => [k, new Map()]),
  );
  // Pods with equal node-facing constraints share their compatibility (per pool, computed on first use).
  const compatByKey = new Map<string, (PodCompat | undefined)[]>();
  const compatOfPod = new Map<Pod, (PodCompat | undefined)[]>();
  for (const p of queue) {
    const key = JSON.stringify([p.nodeSelector, p.requiredNodeAffinity, p.tolerations]);
    let perPool = compatByKey.get(key);
    if (perPool === undefined) {
      perPool = pools.map(() => undefined);
      compatByKey.set(key, perPool);
    }
    compatOfPod.set(p, perPool);
  }
  const compatOf = (pod: Pod, view: PoolView): PodCompat => {
    const perPool = compatOfPod.get(pod) as (PodCompat | undefined)[];
    let c = perPool[view.index];
    if (c === undefined) {
      c = podCompat(pod, view);
      perPool[view.index] = c;
    }
    return c;
  };

  /** Zones a pod's zone topology allows among `zones`, given the counts so far. */
  const zoneTopology = (pod: Pod, t: Topology, view: PoolView, zones: Set<string>): Set<string> => {
    let out = zones;
    for (const c of t.spreadZone) {
      const counts = zoneCounts.get(c.key) as Map<string, number>;
      const self = matchesLabelSelector(c.selector, pod.labels) ? 1 : 0;
      const globalMin = Math.min(...view.zones.map((z) => counts.get(z) ?? 0));
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
      else if (!anywhere && matchesLabelSelector(c.selector, pod.labels) && out.size > 0)
        out = new Set([[...out].sort()[0] as string]);
      else out = new Set();
    }
    return out;
  };

  const hostAllows = (pod: Pod, t: Topology, claim: Claim): boolean => {
    for (const c of t.spreadHost) {
      const self = matchesLabelSelector(c.selector, pod.labels) ? 1 : 0;
      if ((claim.hostCounts.get(c.key) ?? 0) + self > c.maxSkew) return false;
    }
    for (const c of t.antiHost) if ((claim.hostCounts.get(c.key) ?? 0) > 0) return false;
    return claim.anti.every((s) => !matchesLabelSelector(s, pod.labels));
  };

  const recordZone = (pod: Pod, zone: string) => {
    for (const [key, sel] of zoneSelectors) {
      if (!matchesLabelSelector(sel, pod.labels)) continue;
      const counts = zoneCounts.get(key) as Map<string, number>;
      counts.set(zone, (counts.get(zone) ?? 0) + 1);
    }
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
    claim.pods.push(pod);
    if (zones.size === 1) {
      const zone = [...zones][0] as string;
      // A claim pinned just now: its earlier pods count in that zone from now on.
      for (const p of wasPinned ? [pod] : claim.pods) recordZone(p, zone);
    }
    for (const [key, sel] of hostSelectors)
      if (matchesLabelSelector(sel, pod.labels))
        claim.hostCounts.set(key, (claim.hostCounts.get(key) ?? 0) + 1);
    for (const c of t.antiHost) claim.anti.push(c.selector);
  };

  /** Types among `candidates` the pod may use in some zone of `zones`. */
  const withZones = (candidates: number[], compat: PodCompat, zones: Set<string>) =>
    candidates.filter((i) => {
      const allowed = compat[i];
      if (allowed === null || allowed === undefined) return false;
      for (const z of zones) if (allowed.has(z)) return true;
      return false;
    });

  // In-flight claims are tried fewest pods first (Karpenter sorts them before each pod); the list is
  // kept in that order as pods are added, ties in the order a stable sort would leave them.
  const claims: Claim[] = [];
  /** Claims in the order they were opened (the result lists them so). */
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
  let scheduled = 0;
  for (const pod of queue) {
    const r = pod.requests;
    const requested = Object.entries(r);
    const t = topologyOf.get(pod) as Topology;
    const zonal = t.spreadZone.length > 0 || t.affinityZone.length > 0;
    // Zone topology depends on the claim's zones only (counts change on placement): once per zone set.
    const zonesFor = new Map<Set<string>, Set<string>>();
    let placed = false;
    for (let at = 0; at < claims.length; at++) {
      const claim = claims[at] as Claim;
      if (!withinHeadroom(claim, requested) || !hostAllows(pod, t, claim)) continue;
      const compat = compatOf(pod, claim.view);
      let zones = claim.zones;
      if (zonal) {
        const key = claim.zones;
        zones = zonesFor.get(key) ?? zoneTopology(pod, t, claim.view, key);
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
      placed = true;
      break;
    }
    if (!placed) {
      for (const view of pools) {
        const compat = compatOf(pod, view);
        const fitting = view.types.flatMap((pt, i) => (compat[i] && fits(r, pt.alloc) ? [i] : []));
        const reachable = new Set(fitting.flatMap((i) => [...(compat[i] as Set<string>)]));
        const zones = zoneTopology(pod, t, view, reachable);
        const options = withZones(fitting, compat, zones);
        if (options.length === 0) continue;
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
        };
        commit(claim, pod, t, zones);
        reorder(claim, -1);
        placed = true;
        break;
      }
    }
    if (placed) scheduled++;
  }
  // Launch: Karpenter's exotic filter (metal, GPUs, accelerators dropped while another option remains,
  // unless the NodePool has minValues), then the cheapest offering of the options in the claim's zones.
  let cost = 0;
  const launched: Offering[] = [];
  for (const claim of opened) {
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
    nodes: claims.length,
    scheduledPods: scheduled,
    claims: opened.map((c) => ({ zones: [...c.zones].sort(), pods: c.pods.length })),
  };
}

function typesFor(input: KarpenterProvisionInput, pool: string): readonly InstanceType[] {
  const its = input.instanceTypes;
  return Array.isArray(its) ? its : ((its as Record<string, readonly InstanceType[]>)[pool] ?? []);
}

/** Hard taints (NoSchedule, NoExecute) the tolerations do not cover. */
function tolerates(tolerations: readonly Toleration[], taints: readonly Taint[]): boolean {
  return taints.every((t) => t.effect === "PreferNoSchedule" || toleratesAny(tolerations, t));
}

function matchesNode(
  pod: Pick<Pod, "nodeSelector" | "requiredNodeAffinity">,
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector)) if (labels[k] !== v) return false;
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
    const labels = { ...type.labels, ...pool.template.labels, "karpenter.sh/nodepool": pool.name };
    const zonePrice = new Map<string, Offering>();
    for (const o of type.offerings) {
      if (!o.available) continue;
      const full = { ...labels, [ZONE]: o.zone, "karpenter.sh/capacity-type": o.capacityType };
      if (!pool.template.requirements.every((r) => matchesNodeSelectorRequirement(full, r))) continue;
      const known = zonePrice.get(o.zone);
      if (known === undefined || o.pricePerHour < known.pricePerHour) zonePrice.set(o.zone, o);
    }
    if (zonePrice.size === 0) continue;
    const alloc: Record<string, number> = { ...type.allocatable };
    for (const ds of daemonSets)
      if (tolerates(ds.tolerations, pool.template.taints) && matchesNode(ds, labels))
        for (const [k, v] of Object.entries(ds.requests)) alloc[k] = (alloc[k] ?? 0) - v;
    if (Object.values(alloc).some((v) => v < 0)) continue;
    for (const z of zonePrice.keys()) allZones.add(z);
    out.push({ type, alloc, zonePrice, labels, exotic: isExotic(type) });
  }
  const keepsExotic = pool.template.requirements.some((r) => r.minValues !== undefined);
  return { pool, keepsExotic, index, types: out, zones: [...allZones].sort() };
}

function podCompat(pod: Pod, view: PoolView): PodCompat {
  if (!tolerates(pod.tolerations, view.pool.template.taints)) return view.types.map(() => null);
  return view.types.map((pt) => {
    const zones = new Set<string>();
    for (const z of pt.zonePrice.keys()) if (matchesNode(pod, { ...pt.labels, [ZONE]: z })) zones.add(z);
    return zones.size > 0 ? zones : null;
  });
}

function topology(pod: Pod): Topology {
  const t: Topology = { spreadZone: [], affinityZone: [], spreadHost: [], antiHost: [] };
  for (const c of pod.topologySpreadConstraints) {
    if (c.whenUnsatisfiable !== "DoNotSchedule" || c.labelSelector === undefined) continue;
    const entry = { key: labelSelectorKey(c.labelSelector), selector: c.labelSelector, maxSkew: c.maxSkew };
    if (c.topologyKey === ZONE) t.spreadZone.push(entry);
    else if (c.topologyKey === HOSTNAME) t.spreadHost.push(entry);
  }
  for (const term of pod.podAffinity.required)
    if (term.topologyKey === ZONE && term.labelSelector !== undefined)
      t.affinityZone.push({ key: labelSelectorKey(term.labelSelector), selector: term.labelSelector });
  for (const term of pod.podAntiAffinity.required)
    if (term.topologyKey === HOSTNAME && term.labelSelector !== undefined)
      t.antiHost.push({ key: labelSelectorKey(term.labelSelector), selector: term.labelSelector });
  return t;
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
