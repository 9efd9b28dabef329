import {
  constraintsOf,
  type LabelSelector,
  labelSelectorKey,
  matchesLabelSelector,
  matchesNodeSelectorTerms,
  nodeAccepts,
  type Pod,
  type PodAffinityTerm,
  type PodConstraints,
  type Toleration,
  toleratesAny,
} from "@nodeplan/core";
import { fitsIn, nodeModel, nonZeroRequests, type SimNode, type SimPod } from "./cluster.ts";
import type { Rng } from "./rng.ts";

/**
 * A model of kube-scheduler's default profile (pkg/scheduler/apis/config/v1/default_plugins.go), one
 * pod at a time, as the scheduler binds them.
 *
 * Filters: NodeUnschedulable; TaintToleration and NodeAffinity (node selector, required node affinity,
 * volume zone requirements) through core's `nodeAccepts`, with PreferNoSchedule taints tolerated (they
 * only score); NodeResourcesFit on every requested resource against allocatable minus the requests of
 * the pods bound there (terminating ones included, as the kubelet still runs them); NodePorts;
 * PodTopologySpread's DoNotSchedule constraints (skew against the global minimum over the domains of
 * nodes that pass the pod's node affinity, minDomains, matchLabelKeys); InterPodAffinity's required
 * terms both ways.
 *
 * Scores, each 0..100, weighted as the default profile weights them: NodeResourcesFit LeastAllocated
 * (cpu and memory, weight 1 each, requests of 0 counting as 100m and 200Mi), weight 1;
 * NodeResourcesBalancedAllocation (1 - |cpu fraction - memory fraction| / 2), weight 1; TaintToleration
 * (fewer untolerated PreferNoSchedule taints, normalized in reverse), weight 3; NodeAffinity (preferred
 * terms' weights, normalized), weight 2; PodTopologySpread (ScheduleAnyway constraints, or Kubernetes'
 * system defaults for pods of a workload: zone maxSkew 5 and hostname maxSkew 3; count x log(domains +
 * 2) + maxSkew - 1, normalized as (max + min - s) / max), weight 2; InterPodAffinity (the pod's
 * preferred terms and existing pods' preferred and required terms, normalized min..max), weight 2.
 * ImageLocality (weight 1) is not modelled: every node scores the same. The highest total wins; ties are
 * broken at random as kube-scheduler does (reservoir sampling, a seeded stream here). Like kube-scheduler,
 * large clusters are only partly searched: with n >= 100 nodes, filtering stops after max(100,
 * n x max(5, 50 - n/125)%) feasible nodes, starting where the previous pod stopped. Not modelled:
 * preemption, volume limits, DRA.
 */

const PNS_TOLERATION: Toleration = { operator: "Exists", effect: "PreferNoSchedule" };
const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" as const };
const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";
const MAX_SCORE = 100;

/** Plugin weights of the default profile. */
export const SCORE_WEIGHTS = {
  leastAllocated: 1,
  balancedAllocation: 1,
  taintToleration: 3,
  nodeAffinity: 2,
  podTopologySpread: 2,
  interPodAffinity: 2,
} as const;

/** Per-plugin scores of one node (after normalization) and the weighted total. */
export interface NodeScore {
  node: string;
  leastAllocated: number;
  balancedAllocation: number;
  taintToleration: number;
  nodeAffinity: number;
  podTopologySpread: number;
  interPodAffinity: number;
  total: number;
}

/** A spread constraint as the scheduler evaluates it. */
interface Spread {
  topologyKey: string;
  maxSkew: number;
  selector: LabelSelector;
  minDomains: number | undefined;
  honorAffinity: boolean;
  honorTaints: boolean;
}

/**
 * Matching pods per node for the selectors spreads count with (a workload's selector, a constraint's):
 * registered on first use by a full count, then kept up to date as pods start and stop counting
 * (bound and not terminating). Spreads then cost one lookup per node, not one per pod.
 */
export class SelectorIndex {
  private readonly entries = new Map<
    string,
    { ns: string; selector: LabelSelector; perNode: Map<SimNode, number> }
  >();

  /** Matching pods of namespace `ns` on each node (nodes with none are absent). */
  perNode(ns: string, selector: LabelSelector, nodes: Iterable<SimNode>): ReadonlyMap<SimNode, number> {
    const key = `${ns}\u0000${labelSelectorKey(selector)}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      const perNode = new Map<SimNode, number>();
      for (const n of nodes)
        for (const o of n.pods)
          if (counted(o) && o.namespace === ns && matchesLabelSelector(selector, o.base.labels))
            perNode.set(n, (perNode.get(n) ?? 0) + 1);
      e = { ns, selector, perNode };
      this.entries.set(key, e);
    }
    return e.perNode;
  }

  /** A pod started (+1) or stopped (-1) counting on `node`. */
  update(pod: SimPod, node: SimNode, delta: 1 | -1): void {
    for (const e of this.entries.values()) {
      if (e.ns !== pod.namespace || !matchesLabelSelector(e.selector, pod.base.labels)) continue;
      const k = (e.perNode.get(node) ?? 0) + delta;
      if (k === 0) e.perNode.delete(node);
      else e.perNode.set(node, k);
    }
  }

  /** A node is gone. */
  forget(node: SimNode): void {
    for (const e of this.entries.values()) e.perNode.delete(node);
  }
}

/** Does a pod count for spreads and affinities: bound, not terminating, not gone? */
export function counted(p: SimPod): boolean {
  return p.node !== undefined && p.state !== "terminating" && p.state !== "gone" && p.state !== "pending";
}

/** The cluster as the scheduler reads it. */
export interface SchedulerView {
  /** Counts of pods matching selectors, per node. */
  index: SelectorIndex;
  /** Nodes kube-scheduler may bind to (Ready, registered), zone-interleaved as its node tree lists them. */
  nodes: readonly SimNode[];
  /** Namespace labels (namespaceSelector). */
  namespaceLabels(ns: string): Readonly<Record<string, string>> | undefined;
  /** Bound, non-terminating pods that carry pod (anti-)affinity terms. */
  podsWithAffinity(): Iterable<SimPod>;
}

export class KubeScheduler {
  private nextStart = 0;
  private readonly rng: Rng;
  private readonly constraints = new WeakMap<
    object,
    WeakMap<object, WeakMap<object, WeakMap<object, PodConstraints>>>
  >();
  private readonly staticCache = new WeakMap<
    SimNode,
    { version: number; results: Map<PodConstraints, boolean> }
  >();

  constructor(rng: Rng) {
    this.rng = rng;
  }

  /** The node kube-scheduler binds `pod` to, or undefined when none passes the filters. */
  schedule(pod: SimPod, view: SchedulerView): SimNode | undefined {
    const nodes = view.nodes;
    const n = nodes.length;
    if (n === 0) return undefined;
    const want = feasibleToFind(n);
    const ctx = this.prepare(pod, view);
    const feasible: SimNode[] = [];
    let processed = 0;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const node = nodes[(this.nextStart + i) % n] as SimNode;
      processed++;
      if (this.passes(pod, node, ctx)) feasible.push(node);
    }
    this.nextStart = (this.nextStart + processed) % n;
    if (feasible.length === 0) return undefined;
    if (feasible.length === 1) return feasible[0];
    const scores = this.score(pod, feasible, ctx, view);
    let best = Number.NEGATIVE_INFINITY;
    let chosen: SimNode | undefined;
    let ties = 0;
    for (let i = 0; i < feasible.length; i++) {
      const s = (scores[i] as NodeScore).total;
      if (s > best) {
        best = s;
        chosen = feasible[i];
        ties = 1;
      } else if (s === best) {
        ties++;
        if (this.rng.int(ties) === 0) chosen = feasible[i];
      }
    }
    return chosen;
  }

  /** Every plugin's score for `pod` on each of `nodes` (all assumed feasible): for tests and explanations. */
  scores(pod: SimPod, nodes: readonly SimNode[], view: SchedulerView): NodeScore[] {
    return this.score(pod, nodes, this.prepare(pod, view), view);
  }

  /** Does `pod` pass every filter on `node`? */
  fits(pod: SimPod, node: SimNode, view: SchedulerView): boolean {
    return this.passes(pod, node, this.prepare(pod, view));
  }

  private constraintsOf(p: Pod): PodConstraints {
    // Replicas share their template's arrays: the cache is keyed on them.
    let byAffinity = this.constraints.get(p.nodeSelector);
    if (byAffinity === undefined) this.constraints.set(p.nodeSelector, (byAffinity = new WeakMap()));
    let byVolumes = byAffinity.get(p.requiredNodeAffinity);
    if (byVolumes === undefined) byAffinity.set(p.requiredNodeAffinity, (byVolumes = new WeakMap()));
    let byTolerations = byVolumes.get(p.volumeRequirements);
    if (byTolerations === undefined) byVolumes.set(p.volumeRequirements, (byTolerations = new WeakMap()));
    let c = byTolerations.get(p.tolerations);
    if (c === undefined) {
      c = constraintsOf({ ...p, tolerations: [...p.tolerations, PNS_TOLERATION] });
      byTolerations.set(p.tolerations, c);
    }
    return c;
  }

  /** The pod's static filter (taints, node selection, volume zones) on a node, cached per node version. */
  private staticFits(c: PodConstraints, node: SimNode): boolean {
    let cache = this.staticCache.get(node);
    if (cache === undefined || cache.version !== node.version) {
      cache = { version: node.version, results: new Map() };
      this.staticCache.set(node, cache);
    }
    let ok = cache.results.get(c);
    if (ok === undefined) {
      ok = nodeAccepts(c, nodeModel(node));
      cache.results.set(c, ok);
    }
    return ok;
  }

  private prepare(pod: SimPod, view: SchedulerView): Prepared {
    const p = pod.base;
    const c = this.constraintsOf(p);
    const hard: SpreadState[] = [];
    for (const s of p.topologySpreadConstraints)
      if (s.whenUnsatisfiable === "DoNotSchedule") hard.push(spreadState(pod, toSpread(s, p), view, this, c));
    const required = p.podAffinity.required.map((t) => affinityState(pod, t, view));
    const anti = p.podAntiAffinity.required.map((t) => affinityState(pod, t, view));
    // Existing pods' required anti-affinity against this pod: the domains they forbid.
    const repelled: { key: string; value: string }[] = [];
    for (const other of view.podsWithAffinity())
      for (const t of other.base.podAntiAffinity.required)
        if (other.node !== undefined && termMatches(t, other.base.namespace, p, view)) {
          const value = other.node.labels[t.topologyKey];
          if (value !== undefined) repelled.push({ key: t.topologyKey, value });
        }
    return { constraints: c, hard, required, anti, repelled };
  }

  private passes(pod: SimPod, node: SimNode, ctx: Prepared): boolean {
    const p = pod.base;
    if (node.unschedulable && !toleratesAny(p.tolerations, UNSCHEDULABLE_TAINT)) return false;
    if (!fitsIn(p.requests, node.requested, node.allocatable)) return false;
    if (!this.staticFits(ctx.constraints, node)) return false;
    if (p.hostPorts.length > 0) {
      for (const other of node.pods)
        if (other.state !== "gone")
          for (const a of other.base.hostPorts)
            for (const b of p.hostPorts)
              if (
                a.port === b.port &&
                a.protocol === b.protocol &&
                (a.hostIP === b.hostIP || a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0")
              )
                return false;
    }
    for (const s of ctx.hard) {
      const value = node.labels[s.spread.topologyKey];
      if (value === undefined) return false;
      const count = (s.counts.get(value) ?? 0) + s.self;
      if (count - s.min > s.spread.maxSkew) return false;
    }
    for (const a of ctx.required) {
      const value = node.labels[a.term.topologyKey];
      if (a.domains.size === 0) {
        // No pod matches anywhere: only a pod matching its own term may start the group.
        if (!a.selfMatch) return false;
        if (value === undefined) return false;
        continue;
      }
      if (value === undefined || !a.domains.has(value)) return false;
    }
    for (const a of ctx.anti) {
      const value = node.labels[a.term.topologyKey];
      if (value !== undefined && a.domains.has(value)) return false;
    }
    for (const r of ctx.repelled) if (node.labels[r.key] === r.value) return false;
    return true;
  }

  private score(pod: SimPod, nodes: readonly SimNode[], ctx: Prepared, view: SchedulerView): NodeScore[] {
    const p = pod.base;
    const cpu = p.requests.cpuMillis ?? 0;
    const mem = p.requests.memoryBytes ?? 0;
    const { cpuMillis: nzCpu, memoryBytes: nzMem } = nonZeroRequests(p);
    const bestEffort = cpu === 0 && mem === 0;
    const out: NodeScore[] = nodes.map((n) => ({
      node: n.name,
      leastAllocated: 0,
      balancedAllocation: 0,
      taintToleration: 0,
      nodeAffinity: 0,
      podTopologySpread: 0,
      interPodAffinity: 0,
      total: 0,
    }));
    // NodeResourcesFit (LeastAllocated) and BalancedAllocation.
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as SimNode;
      const s = out[i] as NodeScore;
      const ac = n.allocatable.cpuMillis ?? 0;
      const am = n.allocatable.memoryBytes ?? 0;
      const least = (requested: number, alloc: number) =>
        alloc === 0 || requested > alloc ? 0 : Math.floor(((alloc - requested) * MAX_SCORE) / alloc);
      s.leastAllocated = Math.floor(
        (least(n.nonZero.cpuMillis + nzCpu, ac) + least(n.nonZero.memoryBytes + nzMem, am)) / 2,
      );
      if (!bestEffort) {
        const fractions: number[] = [];
        if (ac > 0) fractions.push(Math.min(1, ((n.requested.cpuMillis ?? 0) + cpu) / ac));
        if (am > 0) fractions.push(Math.min(1, ((n.requested.memoryBytes ?? 0) + mem) / am));
        const std =
          fractions.length === 2 ? Math.abs(((fractions[0] as number) - (fractions[1] as number)) / 2) : 0;
        s.balancedAllocation = Math.trunc((1 - std) * MAX_SCORE);
      }
    }
    // TaintToleration: untolerated PreferNoSchedule taints, fewer is better.
    const pns = nodes.map(
      (n) =>
        n.taints.filter((t) => t.effect === "PreferNoSchedule" && !toleratesAny(p.tolerations, t)).length,
    );
    normalize(pns, true).forEach((v, i) => {
      (out[i] as NodeScore).taintToleration = v;
    });
    // NodeAffinity: preferred terms.
    if (p.preferredNodeAffinity.length > 0) {
      const raw = nodes.map((n) => {
        let sum = 0;
        for (const t of p.preferredNodeAffinity)
          if (matchesNodeSelectorTerms(n.labels, [t.preference])) sum += t.weight;
        return sum;
      });
      normalize(raw, false).forEach((v, i) => {
        (out[i] as NodeScore).nodeAffinity = v;
      });
    }
    // PodTopologySpread.
    const soft = softSpreads(pod);
    if (soft.length > 0) {
      const states = soft.map((s) => spreadState(pod, s.spread, view, this, ctx.constraints));
      const raw: number[] = [];
      const ignored: boolean[] = [];
      for (const n of nodes) {
        let score = 0;
        let skip = false;
        for (const [j, st] of states.entries()) {
          const value = n.labels[st.spread.topologyKey];
          if (value === undefined) {
            if (!(soft[j] as { systemDefault: boolean }).systemDefault) skip = true;
            continue;
          }
          const count =
            st.spread.topologyKey === HOSTNAME ? (st.perNode.get(n) ?? 0) : (st.counts.get(value) ?? 0);
          score += count * Math.log(st.domainCount + 2) + (st.spread.maxSkew - 1);
        }
        ignored.push(skip);
        raw.push(Math.round(score));
      }
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      for (let i = 0; i < raw.length; i++) {
        if (ignored[i]) continue;
        min = Math.min(min, raw[i] as number);
        max = Math.max(max, raw[i] as number);
      }
      for (let i = 0; i < raw.length; i++)
        (out[i] as NodeScore).podTopologySpread = ignored[i]
          ? 0
          : max === 0
            ? MAX_SCORE
            : Math.floor((MAX_SCORE * (max + min - (raw[i] as number))) / max);
    }
    // InterPodAffinity.
    const preferred = [
      ...p.podAffinity.preferred.map((w) => ({ term: w.term, weight: w.weight })),
      ...p.podAntiAffinity.preferred.map((w) => ({ term: w.term, weight: -w.weight })),
    ];
    const others = [...view.podsWithAffinity()];
    if (preferred.length > 0 || others.length > 0) {
      const raw = nodes.map(() => 0);
      for (const { term, weight } of preferred) {
        const st = affinityState(pod, term, view);
        for (const [i, n] of nodes.entries()) {
          const v = n.labels[term.topologyKey];
          if (v !== undefined) raw[i] = (raw[i] as number) + weight * (st.counts.get(v) ?? 0);
        }
      }
      for (const o of others) {
        if (o.node === undefined) continue;
        const terms = [
          ...o.base.podAffinity.preferred.map((w) => ({ term: w.term, weight: w.weight })),
          ...o.base.podAntiAffinity.preferred.map((w) => ({ term: w.term, weight: -w.weight })),
          ...o.base.podAffinity.required.map((term) => ({ term, weight: 1 })),
        ];
        for (const { term, weight } of terms) {
          if (!termMatches(term, o.base.namespace, p, view)) continue;
          const v = o.node.labels[term.topologyKey];
          if (v === undefined) continue;
          for (const [i, n] of nodes.entries())
            if (n.labels[term.topologyKey] === v) raw[i] = (raw[i] as number) + weight;
        }
      }
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const v of raw) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      for (let i = 0; i < raw.length; i++)
        (out[i] as NodeScore).interPodAffinity =
          max === min ? 0 : Math.floor((((raw[i] as number) - min) * MAX_SCORE) / (max - min));
    }
    for (const s of out)
      s.total =
        SCORE_WEIGHTS.leastAllocated * s.leastAllocated +
        SCORE_WEIGHTS.balancedAllocation * s.balancedAllocation +
        SCORE_WEIGHTS.taintToleration * s.taintToleration +
        SCORE_WEIGHTS.nodeAffinity * s.nodeAffinity +
        SCORE_WEIGHTS.podTopologySpread * s.podTopologySpread +
        SCORE_WEIGHTS.interPodAffinity * s.interPodAffinity;
    return out;
  }

  /** The pod's node affinity alone (nodeAffinityPolicy: Honor), cached like the static filter. */
  affinityOnly(c: PodConstraints, node: SimNode): boolean {
    return this.staticFits(derived(c, "affinity"), node);
  }

  /** The node's taints alone against the pod's tolerations (nodeTaintsPolicy: Honor). */
  taintsOnly(c: PodConstraints, node: SimNode): boolean {
    return this.staticFits(derived(c, "taints"), node);
  }
}

/** What a pod's filters need, computed once per scheduling attempt. */
interface Prepared {
  constraints: PodConstraints;
  hard: SpreadState[];
  required: AffinityState[];
  anti: AffinityState[];
  repelled: { key: string; value: string }[];
}

interface SpreadState {
  spread: Spread;
  /** Matching pods per domain over eligible nodes. */
  counts: Map<string, number>;
  perNode: Map<SimNode, number>;
  /** The global minimum (0 when fewer domains than minDomains). */
  min: number;
  /** 1 when the pod matches the constraint's own selector. */
  self: number;
  domainCount: number;
}

interface AffinityState {
  term: PodAffinityTerm;
  /** Domains holding a matching pod. */
  domains: Set<string>;
  counts: Map<string, number>;
  selfMatch: boolean;
}

const derivedConstraints = new WeakMap<
  PodConstraints,
  { affinity: PodConstraints; taints: PodConstraints }
>();
/** The constraints with every taint tolerated (affinity only), or with no node selection (taints only). */
function derived(c: PodConstraints, which: "affinity" | "taints"): PodConstraints {
  let d = derivedConstraints.get(c);
  if (d === undefined) {
    d = {
      affinity: {
        key: `${c.key}/affinity`,
        alternatives: c.alternatives,
        tolerations: [{ operator: "Exists" }],
      },
      taints: { key: `${c.key}/taints`, alternatives: [[]], tolerations: c.tolerations },
    };
    derivedConstraints.set(c, d);
  }
  return d[which];
}

/** kube-scheduler's numFeasibleNodesToFind with the adaptive percentage (percentageOfNodesToScore unset). */
export function feasibleToFind(nodes: number): number {
  if (nodes < 100) return nodes;
  let percent = 50 - Math.floor(nodes / 125);
  if (percent < 5) percent = 5;
  const n = Math.floor((nodes * percent) / 100);
  return Math.max(100, n);
}

/** Kubernetes' DefaultNormalizeScore: scale to 0..100 by the maximum (reversed: fewer is better). */
function normalize(raw: readonly number[], reverse: boolean): number[] {
  let max = 0;
  for (const v of raw) if (v > max) max = v;
  if (max === 0) return raw.map(() => (reverse ? MAX_SCORE : 0));
  return raw.map((v) => {
    const s = Math.floor((MAX_SCORE * v) / max);
    return reverse ? MAX_SCORE - s : s;
  });
}

function toSpread(c: Pod["topologySpreadConstraints"][number], p: Pod): Spread {
  let selector: LabelSelector = c.labelSelector ?? {
    matchLabels: {},
    matchExpressions: [{ key: "nodeplan.dev/none", operator: "Exists", values: [] }],
  };
  if (c.matchLabelKeys.length > 0) {
    const extra: Record<string, string> = {};
    for (const k of c.matchLabelKeys) if (p.labels[k] !== undefined) extra[k] = p.labels[k] as string;
    selector = { ...selector, matchLabels: { ...selector.matchLabels, ...extra } };
  }
  return {
    topologyKey: c.topologyKey,
    maxSkew: c.maxSkew,
    selector,
    minDomains: c.minDomains,
    honorAffinity: c.nodeAffinityPolicy === "Honor",
    honorTaints: c.nodeTaintsPolicy === "Honor",
  };
}

/** The pod's soft spreads: its ScheduleAnyway constraints, or the system defaults for a workload's pod. */
function softSpreads(pod: SimPod): { spread: Spread; systemDefault: boolean }[] {
  const p = pod.base;
  if (p.topologySpreadConstraints.length > 0)
    return p.topologySpreadConstraints
      .filter((c) => c.whenUnsatisfiable === "ScheduleAnyway")
      .map((c) => ({ spread: toSpread(c, p), systemDefault: false }));
  if (pod.app === undefined) return [];
  const selector = pod.app.selector;
  const base = { selector, minDomains: undefined, honorAffinity: true, honorTaints: false };
  return [
    { spread: { ...base, topologyKey: HOSTNAME, maxSkew: 3 }, systemDefault: true },
    { spread: { ...base, topologyKey: ZONE, maxSkew: 5 }, systemDefault: true },
  ];
}

function spreadState(
  pod: SimPod,
  spread: Spread,
  view: SchedulerView,
  s: KubeScheduler,
  c: PodConstraints,
): SpreadState {
  const counts = new Map<string, number>();
  const perNode = new Map<SimNode, number>();
  const matching = view.index.perNode(pod.base.namespace, spread.selector, view.nodes);
  for (const n of view.nodes) {
    const value = n.labels[spread.topologyKey];
    if (value === undefined) continue;
    if (spread.honorAffinity && !s.affinityOnly(c, n)) continue;
    if (spread.honorTaints && !s.taintsOnly(c, n)) continue;
    const k = matching.get(n) ?? 0;
    perNode.set(n, k);
    counts.set(value, (counts.get(value) ?? 0) + k);
  }
  let min = Number.POSITIVE_INFINITY;
  for (const v of counts.values()) if (v < min) min = v;
  if (
    min === Number.POSITIVE_INFINITY ||
    (spread.minDomains !== undefined && counts.size < spread.minDomains)
  )
    min = 0;
  // The hostname key's domains are nodes: a new node is always possible, the global minimum is 0.
  if (spread.topologyKey === HOSTNAME) min = Math.min(min, 0);
  return {
    spread,
    counts,
    perNode,
    min,
    self: matchesLabelSelector(spread.selector, pod.base.labels) ? 1 : 0,
    domainCount: spread.topologyKey === HOSTNAME ? perNode.size : counts.size,
  };
}

/** Does `term` (of a pod in namespace `ns`) select pod `p`? */
function termMatches(term: PodAffinityTerm, ns: string, p: Pod, view: SchedulerView): boolean {
  if (!namespaceMatches(term, ns, p.namespace, view)) return false;
  return matchesLabelSelector(term.labelSelector, p.labels);
}

function namespaceMatches(term: PodAffinityTerm, ownNs: string, ns: string, view: SchedulerView): boolean {
  if (term.namespaces.length > 0 && term.namespaces.includes(ns)) return true;
  if (term.namespaceSelector !== undefined) {
    const labels = view.namespaceLabels(ns) ?? { "kubernetes.io/metadata.name": ns };
    if (matchesLabelSelector(term.namespaceSelector, labels)) return true;
  }
  if (term.namespaces.length === 0 && term.namespaceSelector === undefined) return ns === ownNs;
  return false;
}

function affinityState(pod: SimPod, term: PodAffinityTerm, view: SchedulerView): AffinityState {
  const domains = new Set<string>();
  const counts = new Map<string, number>();
  for (const n of view.nodes) {
    const value = n.labels[term.topologyKey];
    if (value === undefined) continue;
    for (const o of n.pods) {
      if (!counted(o) || o === pod) continue;
      if (!namespaceMatches(term, pod.base.namespace, o.namespace, view)) continue;
      if (!matchesLabelSelector(term.labelSelector, o.base.labels)) continue;
      domains.add(value);
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
  return { term, domains, counts, selfMatch: matchesLabelSelector(term.labelSelector, pod.base.labels) };
}
