import { CLASS_ACTIVATES, CLASS_COUNTED, encodedProblem } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import {
  type LabelSelector,
  type Node,
  type Pod,
  type PodAffinityTerm,
  podKey,
  type ResourceVector,
  type TopologySpreadConstraint,
} from "../model.ts";
import type { UnschedulableReason } from "../reasons.ts";
import { labelSelectorKey, matchesLabelSelector } from "../selectors.ts";
import {
  constraintsOf,
  nodeAccepts,
  offeringLabel,
  type PodConstraints,
  poolAccepts,
  requirementConflict,
  untoleratedTaint,
} from "./compat.ts";
import { comparePods, type EncodedOffering, type Encoding, type PodGroup } from "./encode.ts";
import { instanceTypesFor, type ProvisioningInput } from "./input.ts";

/**
 * Topology spread, pod (anti-)affinity and host ports around the bin-packing kernel (Karpenter's
 * scheduling/topology.go and topologygroup.go). The kernel stays a bin packer:
 * - on a domain key (zone, capacity type, any label but hostname) every pending pod that carries or
 *   matches a constraint is pinned to one domain, in queue order, by Karpenter's rule (least populated
 *   domain within maxSkew of the global minimum, minDomains, nodeAffinityPolicy/nodeTaintsPolicy,
 *   matchLabelKeys; affinity into a domain holding matching pods, bootstrapping self-affinity into the
 *   cheapest domain; anti-affinity away from them, both ways). Pods with equal pins form subgroups whose
 *   offerings and existing nodes are cut to their domains;
 * - per node (hostname key, host ports) a cap class: one pod per host port on every node; and
 *   conditional classes, binding only the nodes that hold a pod carrying the constraint: there at most
 *   maxSkew pods matching a hostname spread, and at most one pod matching an anti-affinity term (the
 *   owner itself, when it matches its own term; none when it does not). Existing pods count against
 *   the cap (existing nodes start unbound: the rule is the new pods') and existing pods' anti-affinity
 *   removes their nodes.
 * A group counted by several node-level constraints is in each of their classes: the kernel keeps
 * every cap.
 * Required hostname self-affinity with no matching pod on any node bootstraps (Karpenter: the first pod
 * goes anywhere, every later one joins a node holding a matching pod): the set ends on one node, so it
 * is packed as one bundle, a group of one pod requesting the sum (the largest prefix in queue order that
 * fits one node; the rest fail with pod_affinity_unsatisfiable), expanded into its members when decoded.
 */

export const HOSTNAME = "kubernetes.io/hostname";

/** A pending pod the topology pass could not place, with why. */
export interface TopologyFailure {
  pod: Pod;
  reason: UnschedulableReason;
}

/** A pod's domain on one topology key. */
export interface Pin {
  key: string;
  domain: string;
}

/** A count per original group, topology key and domain (pods pinned there, or the most it may take). */
export type DomainCounts = Map<number, Map<string, Map<string, number>>>;

/** Per original group, key and domain: the most pods of that group the domain took when solved. */
export type DomainCaps = ReadonlyMap<number, ReadonlyMap<string, ReadonlyMap<string, number>>>;

/** The count of (group, pin), if any. */
export function domainCount(counts: DomainCaps, group: number, pin: Pin): number | undefined {
  return counts.get(group)?.get(pin.key)?.get(pin.domain);
}

/** Sets the count of (group, pin) in `counts`. */
export function setDomainCount(counts: DomainCounts, group: number, pin: Pin, n: number): void {
  let byKey = counts.get(group);
  if (byKey === undefined) counts.set(group, (byKey = new Map()));
  let byDomain = byKey.get(pin.key);
  if (byDomain === undefined) byKey.set(pin.key, (byDomain = new Map()));
  byDomain.set(pin.domain, n);
}

/** The refined encoding and what it left out. */
export interface TopologyResult {
  enc: Encoding;
  failures: TopologyFailure[];
  /** Per refined group: the reason to give when the kernel stops it on a cap class. */
  capReasons: (UnschedulableReason | undefined)[];
  /** Per refined group: its original group and its pins. */
  origin: { group: number; pins: Pin[] }[];
  /** Pending pods whose constraints are seen but not fully enforced (a bundle counted once in a spread). */
  unenforced: number;
  /** Per bundle pod (the only pod of its refined group): the member pods it stands for. */
  bundles: Map<Pod, Pod[]>;
}

/** Does any pod here need the topology pass at all? */
export function needsTopology(input: ProvisioningInput, enc: Encoding): boolean {
  const has = (p: Pod) =>
    p.topologySpreadConstraints.some((c) => c.whenUnsatisfiable === "DoNotSchedule") ||
    p.podAffinity.required.length > 0 ||
    p.podAntiAffinity.required.length > 0 ||
    p.hostPorts.length > 0;
  return (
    enc.groups.some((g) => g.pods.some(has)) ||
    input.pods.some((p) => p.nodeName !== undefined && p.podAntiAffinity.required.length > 0)
  );
}

/** Pods that occupy their node: bound, running or pending, not terminating or finished. */
function boundPods(input: ProvisioningInput, nodes: Map<string, Node>): { pod: Pod; node: Node }[] {
  const out: { pod: Pod; node: Node }[] = [];
  for (const p of input.pods) {
    if (p.nodeName === undefined || p.terminating || p.phase === "Succeeded" || p.phase === "Failed")
      continue;
    const node = nodes.get(p.nodeName);
    if (node !== undefined) out.push({ pod: p, node });
  }
  return out;
}

/** The namespaces a pod affinity term selects (Kubernetes: listed ∪ selected; neither = the pod's own). */
function termNamespaces(
  term: PodAffinityTerm,
  owner: Pod,
  namespaces: ProvisioningInput["namespaces"],
): (ns: string) => boolean {
  if (term.namespaceSelector === undefined) {
    const listed = term.namespaces.length > 0 ? new Set(term.namespaces) : new Set([owner.namespace]);
    return (ns) => listed.has(ns);
  }
  const sel = term.namespaceSelector;
  const all = sel.matchExpressions.length === 0 && Object.keys(sel.matchLabels).length === 0;
  const listed = new Set(term.namespaces);
  for (const n of namespaces ?? []) if (matchesLabelSelector(sel, n.labels)) listed.add(n.name);
  return (ns) => all || listed.has(ns);
}

/** The selector with matchLabelKeys (In the owner's value) and mismatchLabelKeys (NotIn) folded in. */
function effectiveSelector(
  selector: LabelSelector | undefined,
  owner: Pod,
  matchKeys: readonly string[],
  mismatchKeys: readonly string[] = [],
): LabelSelector | undefined {
  if (selector === undefined) return undefined;
  const exprs = [...selector.matchExpressions];
  for (const k of matchKeys) {
    const v = owner.labels[k];
    if (v !== undefined) exprs.push({ key: k, operator: "In", values: [v] });
  }
  for (const k of mismatchKeys) {
    const v = owner.labels[k];
    if (v !== undefined) exprs.push({ key: k, operator: "NotIn", values: [v] });
  }
  return { matchLabels: selector.matchLabels, matchExpressions: exprs };
}

/** A set of pods on one topology key whose per-domain counts a constraint reads. */
interface Counter {
  key: string;
  matches: (p: Pod) => boolean;
  /**
   * Per domain: the matching bound pods there. The pin pass adds the pending pods it pins in a `Tally`
   * of its own (bound and pinned: at least as many as the plan leaves there).
   */
  counts: Map<string, number>;
  /**
   * Per domain: the matching pods sure to be there (bound, or pinned into a domain with room): at most as
   * many as the plan leaves there. A pod pinned past its domain's room is counted only in `counts`: it is
   * usually left unplaced, so a spread's minimum never counts it.
   */
  firm: Map<string, number>;
  /** Whether a pod on this existing node counts (nodeAffinityPolicy / nodeTaintsPolicy); new claims always do. */
  countNode: (n: Node) => boolean;
  /** For a spread counter: the tightest skew its carriers allow, over their eligible domains. */
  spread?: SpreadConfig;
}

/** What a spread carrier's skew is measured against. */
interface SpreadConfig {
  maxSkew: number;
  minDomains: number | undefined;
  /** Domains counted toward the minimum (nodeAffinityPolicy / nodeTaintsPolicy). */
  eligible: Set<string>;
}

/** The global minimum of `counts` for a config, Karpenter's domainMinCount (minDomains unmet => 0). */
function globalMin(counts: ReadonlyMap<string, number>, s: SpreadConfig | undefined): number {
  if (s === undefined || s.eligible.size === 0) return 0;
  if (s.minDomains !== undefined && s.eligible.size < s.minDomains) return 0;
  let min = Number.POSITIVE_INFINITY;
  for (const d of s.eligible) min = Math.min(min, counts.get(d) ?? 0);
  return min;
}

/** Can one more counted pod join domain `d` with every carrier pinned there still within its skew? */
function keepsCarriers(t: Tally, d: string): boolean {
  const n = (t.counts.get(d) ?? 0) + 1;
  for (const s of t.carriersIn.get(d) ?? []) if (n - globalMin(t.firm, s) > s.maxSkew) return false;
  return true;
}

interface SpreadRule {
  counter: Counter;
  constraint: TopologySpreadConstraint;
  /** Its skew, minDomains and the domains the pod counts toward the minimum (one object per distinct config). */
  config: SpreadConfig;
}

interface AffinityRule {
  counter: Counter;
  self: boolean;
}

/** One node-level cap class. */
interface RawClass {
  cap: number;
  /** Per existing node (encoding order): pods already counting against the cap. */
  existing: Int32Array;
  reason: UnschedulableReason;
  /** Binds only nodes holding a pod that carries the constraint (else every node). */
  conditional: boolean;
  /** Pending pods in the class: CLASS_COUNTED if they count, CLASS_ACTIVATES if they carry it. */
  members: Map<Pod, number>;
}

/**
 * Where each topology key's domains are, remembered per key: an offering's value on a key, the
 * domains a constraint class reaches (each at its cheapest price), and the domains a spread's minimum
 * is taken over.
 */
interface DomainIndex {
  /** Per offering (encoding order): its value on `key`, if any. */
  valuesOf(key: string): (string | undefined)[];
  /** The domains of `key` the group's constraint class can reach, each with its cheapest price (existing nodes: Infinity). */
  reach(group: PodGroup, key: string): Map<string, number>;
  /**
   * The domains a spread's global minimum is taken over (Karpenter: NodePool requirements x instance
   * types, and existing nodes), as nodeAffinityPolicy and nodeTaintsPolicy filter them. Over the whole
   * catalog: a NodePool at its limit, or instance types left out of this solve, still make domains.
   */
  eligibleDomains(
    c: PodConstraints,
    key: string,
    policy: { affinity: boolean; taints: boolean },
  ): Set<string>;
}

/** The domain index of an encoding: offering values and existing node labels, per key. */
function domainIndex(
  input: ProvisioningInput,
  enc: Encoding,
  catalog: ProvisioningInput["instanceTypes"],
): DomainIndex {
  const T = enc.offerings.length;
  // Domains per key: offering values ∪ existing node labels.
  const offeringValues = new Map<string, (string | undefined)[]>();
  const valuesOf = (key: string): (string | undefined)[] => {
    let v = offeringValues.get(key);
    if (v === undefined) {
      v = enc.offerings.map((o) => offeringLabel(o.nodePool, o.instanceType, o.offering, key));
      offeringValues.set(key, v);
    }
    return v;
  };
  // Per (constraint class, key): domains the class can reach, each with its cheapest price.
  const reachMemo = new Map<string, Map<string, number>>();
  const reach = (group: PodGroup, key: string): Map<string, number> => {
    const memoKey = `${group.constraintClass}|${key}`;
    let out = reachMemo.get(memoKey);
    if (out !== undefined) return out;
    out = new Map<string, number>();
    const c = enc.constraintClasses[group.constraintClass];
    const row = enc.classOfferings[group.constraintClass] as Uint8Array;
    const values = valuesOf(key);
    for (let t = 0; t < T; t++) {
      const v = values[t];
      if (v === undefined || c === undefined || row[t] !== 1) continue;
      const o = enc.offerings[t] as EncodedOffering;
      out.set(v, Math.min(out.get(v) ?? Number.POSITIVE_INFINITY, o.offering.pricePerHour));
    }
    for (const n of input.nodes) {
      const v = n.labels[key];
      if (v === undefined || c === undefined || !nodeAccepts(c, n)) continue;
      if (!out.has(v)) out.set(v, Number.POSITIVE_INFINITY);
    }
    reachMemo.set(memoKey, out);
    return out;
  };
  const eligibleMemo = new Map<string, Set<string>>();
  const eligibleDomains = (
    c: PodConstraints,
    key: string,
    policy: { affinity: boolean; taints: boolean },
  ): Set<string> => {
    const memoKey = `${c.key}|${key}|${policy.affinity}|${policy.taints}`;
    let out = eligibleMemo.get(memoKey);
    if (out !== undefined) return out;
    out = new Set<string>();
    for (const pool of input.nodePools) {
      if (policy.taints && untoleratedTaint(pool.template.taints, c.tolerations) !== undefined) continue;
      for (const it of instanceTypesFor({ ...input, instanceTypes: catalog }, pool.name))
        for (const o of it.offerings) {
          if (!o.available || o.reservationCapacity === 0 || !poolAccepts(pool, it, o)) continue;
          const v = offeringLabel(pool, it, o, key);
          if (v === undefined || out.has(v)) continue;
          if (!policy.affinity || requirementConflict(c, pool, it, o) === undefined) out.add(v);
        }
    }
    // One constraints object for every node: its parsed requirements are cached across nodes.
    const affinityOnly = policy.affinity
      ? { ...c, tolerations: [{ operator: "Exists" as const }] }
      : undefined;
    for (const n of input.nodes) {
      const v = n.labels[key];
      if (v === undefined || out.has(v)) continue;
      if (affinityOnly !== undefined && !nodeAccepts(affinityOnly, n)) continue;
      if (policy.taints && untoleratedTaint(n.taints, c.tolerations) !== undefined) continue;
      out.add(v);
    }
    eligibleMemo.set(memoKey, out);
    return out;
  };
  return { valuesOf, reach, eligibleDomains };
}

/** A bound pod's required anti-affinity on a domain key: the domains it occupies, and whom it repels. */
interface AntiAffinityOwner {
  key: string;
  repels: (p: Pod) => boolean;
  domains: Set<string>;
  topologyKey: string;
}

/**
 * The required anti-affinity of pods already bound: on a domain key, owners whose domains repel
 * matching pods; on the hostname key, the existing nodes matching pods may not use.
 */
function existingAntiAffinity(
  input: ProvisioningInput,
  bound: readonly { pod: Pod; node: Node }[],
  existingIndex: ReadonlyMap<string, number>,
): { owners: AntiAffinityOwner[]; nodeRepels: { node: number; repels: (p: Pod) => boolean }[] } {
  // Anti-affinity owners on domain keys: (key, predicate, domains they occupy).
  const owners: AntiAffinityOwner[] = [];
  const nodeRepels: { node: number; repels: (p: Pod) => boolean }[] = [];
  for (const { pod, node } of bound) {
    for (const term of pod.podAntiAffinity.required) {
      const inNs = termNamespaces(term, pod, input.namespaces);
      const sel = effectiveSelector(term.labelSelector, pod, term.matchLabelKeys, term.mismatchLabelKeys);
      const repels = (p: Pod) => inNs(p.namespace) && matchesLabelSelector(sel, p.labels);
      if (term.topologyKey === HOSTNAME) {
        const e = existingIndex.get(node.name);
        if (e !== undefined) nodeRepels.push({ node: e, repels });
      } else {
        const d = node.labels[term.topologyKey];
        if (d !== undefined)
          owners.push({
            key: term.topologyKey,
            repels,
            domains: new Set([d]),
            topologyKey: term.topologyKey,
          });
      }
    }
  }

  return { owners, nodeRepels };
}

/** A pod's domain rules: its spreads, and its affinity and anti-affinity terms on domain keys. */
interface PodRules {
  spread: SpreadRule[];
  affinity: AffinityRule[];
  anti: AffinityRule[];
}

/** A pending pod carrying a bootstrapping hostname self-affinity term (a term id, as for cap classes). */
interface SelfAffine {
  pod: Pod;
  id: string;
  selector: string;
}

/** What the rules are read from. */
interface RuleInputs {
  input: ProvisioningInput;
  enc: Encoding;
  bound: readonly { pod: Pod; node: Node }[];
  existingIndex: ReadonlyMap<string, number>;
  eligibleDomains: DomainIndex["eligibleDomains"];
  asWritten: ReadonlyMap<string, Pod> | undefined;
}

/** The pending pods' topology rules, before any is pinned. */
interface Rules {
  /** Per pod with a rule on a domain key. */
  rulesOf: Map<Pod, PodRules>;
  /** The counters the rules read, by id, counting the bound pods. */
  counters: Map<string, Counter>;
  /** Node-level cap classes by id, in order of first use, with the pending pods in each. */
  rawClasses: Map<string, RawClass>;
  /** Per pod with hostname affinity to pods already bound: the existing nodes it may join. */
  hostAffinity: Map<Pod, Set<number>>;
  selfAffine: SelfAffine[];
  /** Pods whose hostname affinity nothing can satisfy. */
  failures: TopologyFailure[];
}

/**
 * Pass 1: the rules of every pending pod (pods of a group share node constraints, not labels or
 * namespaces): spreads and affinity on domain keys as counters, node-level rules (hostname spread and
 * anti-affinity, host ports) as cap classes, and hostname affinity as the nodes to join.
 */
function collectRules(given: RuleInputs): Rules {
  const { input, enc, bound, existingIndex, eligibleDomains, asWritten } = given;
  const E = enc.existing.length;
  const configs = new Map<Set<string>, Map<string, SpreadConfig>>();
  const configOf = (maxSkew: number, minDomains: number | undefined, eligible: Set<string>) => {
    const byEligible = configs.get(eligible) ?? new Map<string, SpreadConfig>();
    configs.set(eligible, byEligible);
    const k = `${maxSkew}|${minDomains}`;
    let config = byEligible.get(k);
    if (config === undefined) {
      config = { maxSkew, minDomains, eligible };
      byEligible.set(k, config);
    }
    return config;
  };
  const counters = new Map<string, Counter>();
  const counterFor = (
    id: string,
    key: string,
    matches: (p: Pod) => boolean,
    countNode: (n: Node) => boolean,
  ) => {
    let c = counters.get(id);
    if (c === undefined) {
      c = { key, matches, counts: new Map(), firm: new Map(), countNode };
      for (const { pod, node } of bound) {
        const d = node.labels[key];
        if (d !== undefined && countNode(node) && matches(pod)) {
          c.counts.set(d, (c.counts.get(d) ?? 0) + 1);
          c.firm.set(d, (c.firm.get(d) ?? 0) + 1);
        }
      }
      counters.set(id, c);
    }
    return c;
  };

  // Node-level cap classes.
  const rawClasses = new Map<string, RawClass>();
  const podClassTests: { rc: RawClass; test: (p: Pod) => boolean }[] = [];
  /** The class `id`, with `carrier` in it as one pod carrying the constraint. */
  const rawClass = (
    id: string,
    cap: number,
    count: (p: Pod) => boolean,
    reason: UnschedulableReason,
    conditional: boolean,
    carrier: Pod,
  ) => {
    let rc = rawClasses.get(id);
    if (rc === undefined) {
      const existing = new Int32Array(E);
      for (const { pod, node } of bound) {
        const e = existingIndex.get(node.name);
        if (e !== undefined && count(pod)) existing[e] = (existing[e] as number) + 1;
      }
      rc = { cap, existing, reason, conditional, members: new Map() };
      rawClasses.set(id, rc);
      podClassTests.push({ rc, test: count });
    }
    rc.members.set(carrier, (rc.members.get(carrier) ?? 0) | CLASS_ACTIVATES);
  };
  const hostAffinity = new Map<Pod, Set<number>>();
  const failures: TopologyFailure[] = [];
  // A pod fails once, on its first hostname affinity term nothing satisfies (alone, or together with
  // the terms before it).
  const unsatisfied = new Set<Pod>();
  const unmet = (pod: Pod, sel: LabelSelector | undefined) => {
    if (unsatisfied.has(pod)) return;
    unsatisfied.add(pod);
    failures.push({
      pod,
      reason: { code: "pod_affinity_unsatisfiable", topologyKey: HOSTNAME, selector: labelSelectorKey(sel) },
    });
  };
  // Hostname self-affinity terms that bootstrap, per carrier (a term id, as for cap classes).
  const selfAffine: SelfAffine[] = [];

  const rulesOf = new Map<Pod, PodRules>();
  enc.groups.forEach((group) => {
    for (const pod of group.pods) {
      const spread: SpreadRule[] = [];
      const affinity: AffinityRule[] = [];
      const anti: AffinityRule[] = [];
      for (const c of pod.topologySpreadConstraints) {
        if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
        const sel = effectiveSelector(c.labelSelector, pod, c.matchLabelKeys);
        const ns = pod.namespace;
        const matches = (p: Pod) => p.namespace === ns && matchesLabelSelector(sel, p.labels);
        const id = JSON.stringify([ns, labelSelectorKey(sel)]);
        if (c.topologyKey === HOSTNAME) {
          // The hostname minimum is 0 (a new node): a node with a carrier holds at most maxSkew matches.
          const reason = {
            code: "topology_spread_unsatisfiable",
            topologyKey: HOSTNAME,
            maxSkew: c.maxSkew,
          } as const;
          rawClass(`spread|${id}|${c.maxSkew}`, c.maxSkew, matches, reason, true, pod);
          continue;
        }
        const policy = { affinity: c.nodeAffinityPolicy === "Honor", taints: c.nodeTaintsPolicy === "Honor" };
        // nodeAffinityPolicy reads the pod's own node affinity, not preferences tried as requirements.
        const original = asWritten?.get(podKey(pod));
        const own = original === undefined ? undefined : constraintsOf(original);
        const c0 = own ?? enc.constraintClasses[group.constraintClass];
        // The node-affinity half of the test ignores taints: one constraints object for every node, so
        // its parsed requirements are cached (a fresh object per node re-parsed them for each one).
        const affinityOnly =
          c0 === undefined || !policy.affinity
            ? undefined
            : { ...c0, tolerations: [{ operator: "Exists" as const }] };
        const counted = new Map<Node, boolean>();
        const countNode = (n: Node) => {
          if (c0 === undefined) return true;
          let yes = counted.get(n);
          if (yes === undefined) {
            yes =
              (affinityOnly === undefined || nodeAccepts(affinityOnly, n)) &&
              (!policy.taints || untoleratedTaint(n.taints, c0.tolerations) === undefined);
            counted.set(n, yes);
          }
          return yes;
        };
        // Which nodes' pods count depends on the pod's node affinity (Honor) and tolerations (Honor).
        const counterId = `spread|${c.topologyKey}|${id}|${policy.affinity || policy.taints ? (c0?.key ?? "") : ""}|${policy.affinity}|${policy.taints}`;
        const counter = counterFor(counterId, c.topologyKey, matches, countNode);
        const eligible = c0 === undefined ? new Set<string>() : eligibleDomains(c0, c.topologyKey, policy);
        const config = configOf(c.maxSkew, c.minDomains, eligible);
        spread.push({ counter, constraint: c, config });
        if (counter.spread === undefined || c.maxSkew < counter.spread.maxSkew) counter.spread = config;
      }
      // Kubernetes accepts a term listed twice; a repeat adds nothing, and a self-affinity term seen
      // twice made the pod a member of its own bundle twice (placed twice). Only pods with two terms or
      // more can repeat one: no set for the rest (this runs for every pending pod).
      const seen =
        pod.podAffinity.required.length + pod.podAntiAffinity.required.length > 1
          ? new Set<string>()
          : undefined;
      for (const [kind, terms] of [
        ["affinity", pod.podAffinity.required],
        ["anti", pod.podAntiAffinity.required],
      ] as const) {
        for (const term of terms) {
          const inNs = termNamespaces(term, pod, input.namespaces);
          const sel = effectiveSelector(term.labelSelector, pod, term.matchLabelKeys, term.mismatchLabelKeys);
          const matches = (p: Pod) => inNs(p.namespace) && matchesLabelSelector(sel, p.labels);
          const id = JSON.stringify([
            kind,
            term.topologyKey,
            labelSelectorKey(sel),
            term.namespaces,
            term.namespaceSelector === undefined ? null : labelSelectorKey(term.namespaceSelector),
            pod.namespace,
          ]);
          if (seen !== undefined) {
            if (seen.has(id)) continue;
            seen.add(id);
          }
          if (term.topologyKey === HOSTNAME) {
            if (kind === "anti") {
              // No other matching pod on the owner's node: one match (itself) if it matches, else none.
              const reason = { code: "pod_anti_affinity_conflict", topologyKey: HOSTNAME } as const;
              const self = matches(pod);
              rawClass(`${id}|${self ? "self" : "other"}`, self ? 1 : 0, matches, reason, true, pod);
            } else {
              // Join a node that already runs a matching pod; with none anywhere, a self-selecting pod
              // bootstraps (its set is bundled onto one node below).
              const at = new Set<number>();
              let anywhere = false;
              for (const b of bound) {
                if (!matches(b.pod)) continue;
                anywhere = true;
                const e = existingIndex.get(b.node.name);
                if (e !== undefined) at.add(e);
              }
              if (at.size > 0) {
                // Required terms are ANDed: the pod may join only a node that satisfies each of its terms
                // joining bound pods (a new node holds none of them), so keep the intersection; a later
                // term used to replace the set, placing the pod where only that term held.
                const before = hostAffinity.get(pod);
                const both = before === undefined ? at : new Set([...before].filter((e) => at.has(e)));
                if (both.size > 0) hostAffinity.set(pod, both);
                else unmet(pod, sel);
              } else if (!anywhere && matches(pod))
                selfAffine.push({ pod, id, selector: labelSelectorKey(sel) });
              else unmet(pod, sel);
            }
            continue;
          }
          const counter = counterFor(id, term.topologyKey, matches, () => true);
          (kind === "affinity" ? affinity : anti).push({ counter, self: matches(pod) });
        }
      }
      // Host ports: one pod per port and protocol on a node (any host IP, conservatively).
      for (const hp of pod.hostPorts) {
        const uses = (p: Pod) => p.hostPorts.some((x) => x.port === hp.port && x.protocol === hp.protocol);
        const reason = { code: "host_port_conflict", port: hp.port, protocol: hp.protocol } as const;
        rawClass(`port|${hp.port}|${hp.protocol}`, 1, uses, reason, false, pod);
      }
      if (spread.length + affinity.length + anti.length > 0) rulesOf.set(pod, { spread, affinity, anti });
    }
  });
  // Pending pods a node-level class counts belong to it too.
  if (podClassTests.length > 0)
    for (const group of enc.groups)
      for (const pod of group.pods)
        for (const { rc, test } of podClassTests)
          if (test(pod)) rc.members.set(pod, (rc.members.get(pod) ?? 0) | CLASS_COUNTED);
  return { rulesOf, counters, rawClasses, hostAffinity, selfAffine, failures };
}

/** What refines an encoding besides the input and the encoding itself. */
export interface TopologyOptions {
  /** Narrows domains after a solve (see `DomainCaps`). */
  caps: DomainCaps;
  /** The whole catalog when the input plans over part of it: spread domains come from it (default the input's). */
  catalog?: ProvisioningInput["instanceTypes"];
  /**
   * Per pod key, the pod as written, for pending pods scheduled with preferences as requirements:
   * nodeAffinityPolicy reads the pod's own node affinity, not preferences tried as requirements.
   */
  asWritten?: ReadonlyMap<string, Pod>;
}

/** Refines `enc` for the topology constraints of its pods. */
export function applyTopology(
  input: ProvisioningInput,
  enc: Encoding,
  options: TopologyOptions,
): TopologyResult {
  const { caps, catalog = input.instanceTypes, asWritten } = options;
  const nodesByName = new Map(input.nodes.map((n) => [n.name, n]));
  const bound = boundPods(input, nodesByName);
  const existingIndex = new Map(enc.existing.map((n, e) => [n.name, e]));
  const { valuesOf, reach, eligibleDomains } = domainIndex(input, enc, catalog);

  const { owners, nodeRepels } = existingAntiAffinity(input, bound, existingIndex);
  const { rulesOf, counters, rawClasses, hostAffinity, selfAffine, failures } = collectRules({
    input,
    enc,
    bound,
    existingIndex,
    eligibleDomains,
    asWritten,
  });
  const givenClasses = [...rawClasses.values()];
  // Per pod: its raw classes with its flags in each (both for an unconditional class).
  const givenPodClasses = new Map<Pod, ClassRef[]>();
  givenClasses.forEach((rc, i) => {
    for (const [p, f] of rc.members) {
      const flags = rc.conditional ? f : CLASS_COUNTED | CLASS_ACTIVATES;
      givenPodClasses.set(p, [...(givenPodClasses.get(p) ?? []), { i, flags }]);
    }
  });
  const placeOf = placer({ enc, valuesOf, nodeRepels, hostAffinity });
  const pinned = pinAroundBundles(
    {
      enc,
      rulesOf,
      counters: [...counters.values()],
      owners,
      reach,
      caps,
      landsCounted: countedLanding(enc),
      failed: new Set(failures.map((f) => f.pod)),
    },
    selfAffine.length === 0
      ? undefined
      : (pinsOf, failed) =>
          bundleSelfAffinity({
            enc,
            rawList: givenClasses,
            podClasses: givenPodClasses,
            selfAffine,
            failed,
            placeOf: placeOf(pinsOf),
          }),
  );
  const placeOfPod = placeOf(pinned.pinsOf);
  const bundles =
    pinned.bundles ??
    bundleSelfAffinity({
      enc,
      rawList: givenClasses,
      podClasses: givenPodClasses,
      selfAffine,
      failed: pinned.failed,
      placeOf: placeOfPod,
    });
  const failed = new Set([...pinned.failed, ...bundles.rejected.map((f) => f.pod)]);
  const allFailures = [...failures, ...pinned.failures, ...bundles.rejected];
  const unenforced = bundles.unenforced;

  // Kernel classes: the raw classes some refined group is in, numbered in order of first use.
  const kernelClass = new Map<number, number>();
  // Subgroups: equal places and classes.
  const groups: PodGroup[] = [];
  const origin: TopologyResult["origin"] = [];
  const rowOf: Uint8Array[] = [];
  const exOf: boolean[][] = [];
  const classesOf: { i: number; flags: number }[][] = [];
  /** Per refined group: its encoded requests when not its original group's (a bundle's sum). */
  const requestsOf: (Float64Array | undefined)[] = [];
  const addGroup = (
    g: number,
    pods: Pod[],
    pins: [string, string][],
    place: { row: Uint8Array; ex: boolean[] },
    raw: { i: number; flags: number }[],
    bundle?: { requests: Float64Array; vector: ResourceVector },
  ) => {
    const group = enc.groups[g] as PodGroup;
    groups.push({ pods, requests: bundle?.vector ?? group.requests, constraintClass: group.constraintClass });
    origin.push({ group: g, pins: pins.map(([key, domain]) => ({ key, domain })) });
    rowOf.push(place.row);
    exOf.push(place.ex);
    classesOf.push(raw);
    requestsOf.push(bundle?.requests);
    for (const { i } of raw) if (!kernelClass.has(i)) kernelClass.set(i, kernelClass.size);
  };
  const rawList = bundles.rawClasses;
  const podClasses = bundles.podClasses;
  enc.groups.forEach((group, g) => {
    const index = new Map<string, number>();
    for (const pod of group.pods) {
      if (failed.has(pod) || bundles.bundled.has(pod)) continue;
      const raw = podClasses.get(pod) ?? [];
      const place = placeOfPod(g, pod);
      const k = `${place.where}|${raw.map((x) => `${x.i}:${x.flags}`).join(",")}`;
      let s = index.get(k);
      if (s === undefined) {
        s = groups.length;
        index.set(k, s);
        addGroup(g, [], place.pins, place, raw);
      }
      groups[s]?.pods.push(pod);
    }
  });
  for (const b of bundles.list)
    addGroup(b.g, [b.pod], b.pins, b, b.raw, { requests: b.requests, vector: b.pod.requests });

  const refined = refinedEncoding(
    enc,
    { groups, origin, rowOf, exOf, classesOf, requestsOf },
    rawList,
    kernelClass,
  );
  return {
    enc: refined.enc,
    failures: allFailures,
    capReasons: refined.capReasons,
    origin,
    unenforced,
    bundles: bundles.members,
  };
}

/** Where a pod may run, built from what the pin pass decided: one place per distinct (pins, exclusions, nodes to join). */
interface PlaceInputs {
  enc: Encoding;
  valuesOf: DomainIndex["valuesOf"];
  /** Existing nodes the required anti-affinity of their bound pods closes to matching pods. */
  nodeRepels: readonly { node: number; repels: (p: Pod) => boolean }[];
  /** Per pod with hostname affinity to pods already bound: the existing nodes it may join. */
  hostAffinity: ReadonlyMap<Pod, ReadonlySet<number>>;
}

/**
 * Per set of pins, where each pod may run: its pins, node exclusions and nodes to join. Pods of a group
 * with equal places (differing only in classes) share one offering row and existing-node column, so
 * `where` is an opaque id of the place within its group.
 */
function placer(given: PlaceInputs): (pinsOf: ReadonlyMap<Pod, ReadonlyMap<string, string>>) => PlaceOf {
  const { enc, valuesOf, nodeRepels, hostAffinity } = given;
  const T = enc.offerings.length;
  const E = enc.existing.length;
  const W = Math.ceil(T / 32);
  const WE = Math.ceil(E / 32);
  const oldCompat = enc.problem.groups.compat;
  const oldEx = enc.problem.groups.existingCompat;
  /** Per original group, per `where` (which holds the pins): its offering row and existing-node column. */
  const places = new Map<number, Map<string, { row: Uint8Array; ex: boolean[] }>>();
  return (pinsOf) => (g, pod) => {
    const pins = [...(pinsOf.get(pod) ?? new Map<string, string>())].sort((a, b) => cmp(a[0], b[0]));
    const excluded = nodeRepels.filter((r) => r.repels(pod)).map((r) => r.node);
    const affine = hostAffinity.get(pod);
    // Sorted: equal node sets built in a different order (terms intersected in another order) share a place.
    const where = JSON.stringify([
      pins,
      excluded,
      affine === undefined ? null : [...affine].sort((a, b) => a - b),
    ]);
    let inGroup = places.get(g);
    if (inGroup === undefined) places.set(g, (inGroup = new Map()));
    let place = inGroup.get(where);
    if (place === undefined) {
      const row = new Uint8Array(T);
      for (let t = 0; t < T; t++) {
        const on = ((oldCompat[g * W + (t >>> 5)] as number) >>> (t & 31)) & 1;
        row[t] = on === 1 && !affine && pins.every(([key, d]) => valuesOf(key)[t] === d) ? 1 : 0;
      }
      const ex: boolean[] = [];
      for (let e = 0; e < E; e++) {
        const on = ((oldEx[g * WE + (e >>> 5)] as number) >>> (e & 31)) & 1;
        const node = enc.existing[e] as Node;
        ex.push(
          on === 1 &&
            !excluded.includes(e) &&
            (affine === undefined || affine.has(e)) &&
            pins.every(([key, d]) => node.labels[key] === d),
        );
      }
      place = { row, ex };
      inGroup.set(where, place);
    }
    return { where, pins, ...place };
  };
}

/** A pod's place, given its original group. */
type PlaceOf = (g: number, pod: Pod) => Place;

/**
 * Is a pod of group `g` pinned to domain `d` counted by `c` wherever in `d` it lands (no existing node
 * it may use there is filtered out by the counter's node policies)? Memoised per counter, group and domain.
 */
function countedLanding(enc: Encoding): PinInputs["landsCounted"] {
  const memo = new Map<Counter, Map<number, Map<string, boolean>>>();
  const E = enc.existing.length;
  const WE = Math.ceil(E / 32);
  const ex = enc.problem.groups.existingCompat;
  return (c, g, d) => {
    let byGroup = memo.get(c);
    if (byGroup === undefined) memo.set(c, (byGroup = new Map()));
    let byDomain = byGroup.get(g);
    if (byDomain === undefined) byGroup.set(g, (byDomain = new Map()));
    let out = byDomain.get(d);
    if (out === undefined) {
      out = true;
      for (let e = 0; e < E && out; e++) {
        const n = enc.existing[e] as Node;
        const usable = (((ex[g * WE + (e >>> 5)] as number) >>> (e & 31)) & 1) === 1;
        if (usable && n.labels[c.key] === d && !c.countNode(n)) out = false;
      }
      byDomain.set(d, out);
    }
    return out;
  };
}

/** What the pin pass reads. Nothing in it is changed. */
interface PinInputs {
  enc: Encoding;
  rulesOf: ReadonlyMap<Pod, PodRules>;
  /** Every counter the rules read, in order of creation, with the bound pods' counts. */
  counters: readonly Counter[];
  /** Bound pods' anti-affinity on domain keys. */
  owners: readonly AntiAffinityOwner[];
  reach: DomainIndex["reach"];
  caps: DomainCaps;
  landsCounted: (c: Counter, g: number, d: string) => boolean;
  /** Pods not to pin (they already failed). */
  failed: ReadonlySet<Pod>;
}

/** A counter's counts as pods are pinned: the bound pods' counts, plus the pending pods pinned so far. */
interface Tally {
  /** Per domain: matching pods there, bound and pinned. */
  counts: Map<string, number>;
  /** Per domain: matching pods sure to be there (see `Counter.firm`). */
  firm: Map<string, number>;
  /** For a spread counter: per domain, the distinct configs of the pending carriers pinned there. */
  carriersIn: Map<string, Set<SpreadConfig>>;
}

/** What pinning changes as it goes: the counters' tallies, the anti-affinity owners, and per (group, key, domain) the pods pinned. */
interface PinState {
  tallies: Map<Counter, Tally>;
  owners: AntiAffinityOwner[];
  placed: DomainCounts;
}

/** What the pin pass computes. */
interface Pinning {
  /** Per pinned pod: its domain per topology key. */
  pinsOf: Map<Pod, Map<string, string>>;
  /** Pods no domain takes, in the order they were met. */
  failures: TopologyFailure[];
}

/**
 * Pass 2: pin domain keys, pod by pod in queue order: first the pods no domain rule of their own binds
 * (only counted by others' spreads or affinities, or repelled by anti-affinity), then the pods with
 * rules. A spread holds in the final state when each pod added to a domain keeps the carriers already
 * pinned there within their skew (minimums only grow); pods without a rule may have nowhere that does,
 * so they go first, and the carriers then pin around them.
 */
function pinDomains(given: PinInputs): Pinning {
  const { enc, rulesOf, counters, failed } = given;
  const state: PinState = {
    tallies: new Map(
      counters.map((c) => [c, { counts: new Map(c.counts), firm: new Map(c.firm), carriersIn: new Map() }]),
    ),
    owners: [...given.owners],
    placed: new Map(),
  };
  const pinsOf = new Map<Pod, Map<string, string>>();
  const failures: TopologyFailure[] = [];
  for (const withRules of [false, true])
    enc.groups.forEach((group, g) => {
      for (const pod of group.pods) {
        if (failed.has(pod)) continue;
        const rules = rulesOf.get(pod);
        if ((rules !== undefined) !== withRules) continue;
        const matching = counters.filter((c) => c.matches(pod));
        const repelledBy = state.owners.filter((o) => o.repels(pod));
        if (rules === undefined && matching.length === 0 && repelledBy.length === 0) continue;
        const chosen = choosePins(given, state, { g, group, pod, rules, matching, repelledBy });
        if ("failure" in chosen) {
          failures.push({ pod, reason: chosen.failure });
          continue;
        }
        pinsOf.set(pod, chosen.pins);
        recordPins(given, state, { g, pod, rules, matching }, chosen);
      }
    });
  return { pinsOf, failures };
}

/** One pod the pin pass is at: its group, rules, the counters that count it and the owners that repel it. */
interface PinCase {
  g: number;
  group: PodGroup;
  pod: Pod;
  rules: PodRules | undefined;
  matching: readonly Counter[];
  repelledBy: readonly AntiAffinityOwner[];
}

/** A pod's pins, and the keys it is pinned on past its domain's room. */
interface Chosen {
  pins: Map<string, string>;
  overflow: Set<string>;
}

/** Does `(g, key, d)` have room left under the caps of an earlier solve? */
function hasRoom(given: PinInputs, state: PinState, g: number, pin: Pin): boolean {
  return (domainCount(state.placed, g, pin) ?? 0) < (domainCount(given.caps, g, pin) ?? Infinity);
}

/** The domain of each topology key the pod is on, or why there is none. A predicate: writes nothing. */
function choosePins(
  given: PinInputs,
  state: PinState,
  at: PinCase,
): Chosen | { failure: UnschedulableReason } {
  const { g, group, pod, rules, matching, repelledBy } = at;
  const tally = (c: Counter) => state.tallies.get(c) as Tally;
  const keys = new Set<string>([
    ...matching.map((c) => c.key),
    ...repelledBy.map((o) => o.key),
    ...(rules?.spread.map((r) => r.counter.key) ?? []),
    ...(rules?.affinity.map((r) => r.counter.key) ?? []),
    ...(rules?.anti.map((r) => r.counter.key) ?? []),
  ]);
  const pins = new Map<string, string>();
  const overflow = new Set<string>();
  let failure: UnschedulableReason | undefined;
  for (const key of [...keys].sort()) {
    const reachable = given.reach(group, key);
    const room = (d: string) => hasRoom(given, state, g, { key, domain: d });
    const ruled =
      rules !== undefined &&
      [...rules.spread, ...rules.affinity, ...rules.anti].some((r) => r.counter.key === key);
    // A pod only counted on this key keeps a full domain (the kernel then names what stops it).
    const all = [...reachable.keys()].sort();
    let allowed = all.filter(room);
    if (!ruled && allowed.length === 0) allowed = all;
    for (const o of repelledBy) if (o.key === key) allowed = allowed.filter((d) => !o.domains.has(d));
    for (const r of rules?.anti ?? []) {
      if (r.counter.key !== key) continue;
      const t = tally(r.counter);
      allowed = allowed.filter((d) => (t.counts.get(d) ?? 0) === 0);
      if (allowed.length === 0) failure ??= { code: "pod_anti_affinity_conflict", topologyKey: key };
    }
    for (const r of rules?.affinity ?? []) {
      if (r.counter.key !== key) continue;
      const t = tally(r.counter);
      const total = [...t.counts.values()].reduce((s, x) => s + x, 0);
      if (total > 0 || !r.self) allowed = allowed.filter((d) => (t.firm.get(d) ?? 0) > 0);
      if (allowed.length === 0) failure ??= { code: "pod_affinity_unsatisfiable", topologyKey: key };
    }
    for (const r of rules?.spread ?? []) {
      if (r.counter.key !== key) continue;
      const c = r.constraint;
      const t = tally(r.counter);
      const self = r.counter.matches(pod) ? 1 : 0;
      const min = globalMin(t.firm, r.config);
      allowed = allowed.filter((d) => (t.counts.get(d) ?? 0) + self - min <= c.maxSkew);
      if (allowed.length === 0) {
        const domains: Record<string, number> = {};
        for (const d of [...r.config.eligible].sort()) domains[d] = t.counts.get(d) ?? 0;
        failure ??= {
          code: "topology_spread_unsatisfiable",
          topologyKey: key,
          maxSkew: c.maxSkew,
          domains,
        };
      }
    }
    // Pods a spread counts stay within its skew too, so the carriers' skew holds when all are placed.
    for (const c of matching) {
      if (c.key !== key || c.spread === undefined) continue;
      // Never past a carrier already pinned in the domain (its skew would break); preferably within
      // the tightest skew of any carrier (required of a pod ruled on this key), so carriers pinned
      // later find room.
      const t = tally(c);
      allowed = allowed.filter((d) => keepsCarriers(t, d));
      const min = globalMin(t.firm, c.spread);
      const within = allowed.filter((d) => (t.counts.get(d) ?? 0) + 1 - min <= (c.spread?.maxSkew ?? 0));
      if (within.length > 0 || ruled) allowed = within;
      if (allowed.length === 0)
        failure ??= {
          code: "topology_spread_unsatisfiable",
          topologyKey: key,
          maxSkew: c.spread.maxSkew,
        };
    }
    if (failure !== undefined) return { failure };
    // Least populated (over the spread counters on this key, else every counter), then cheapest, then name.
    const by = new Set([
      ...(rules?.spread ?? []).filter((r) => r.counter.key === key).map((r) => r.counter),
      ...matching.filter((c) => c.key === key && c.spread !== undefined),
    ]);
    if (by.size === 0) for (const c of matching) if (c.key === key) by.add(c);
    let choice: string | undefined;
    let bestCount = Number.POSITIVE_INFINITY;
    for (const d of allowed) {
      let n = 0;
      for (const c of by) n += tally(c).counts.get(d) ?? 0;
      const better =
        choice === undefined ||
        n < bestCount ||
        (n === bestCount && (reachable.get(d) as number) < (reachable.get(choice) as number));
      if (better) {
        choice = d;
        bestCount = n;
      }
    }
    if (choice === undefined) return { failure: { code: "no_available_offering" } };
    pins.set(key, choice);
    if (!room(choice)) overflow.add(key);
  }
  return { pins, overflow };
}

/** Counts a pinned pod: in its domains' room, in the counters that match it, as an owner and as a carrier. */
function recordPins(
  given: PinInputs,
  state: PinState,
  at: Pick<PinCase, "g" | "pod" | "rules" | "matching">,
  chosen: Chosen,
): void {
  const { g, rules, matching } = at;
  const { pins, overflow } = chosen;
  for (const [key, domain] of pins) {
    const pin = { key, domain };
    setDomainCount(state.placed, g, pin, (domainCount(state.placed, g, pin) ?? 0) + 1);
  }
  for (const c of matching) {
    const d = pins.get(c.key);
    if (d === undefined) continue;
    const t = state.tallies.get(c) as Tally;
    t.counts.set(d, (t.counts.get(d) ?? 0) + 1);
    if (!overflow.has(c.key) && given.landsCounted(c, g, d)) t.firm.set(d, (t.firm.get(d) ?? 0) + 1);
  }
  for (const r of rules?.anti ?? []) {
    const d = pins.get(r.counter.key) as string;
    state.owners.push({
      key: r.counter.key,
      repels: r.counter.matches,
      domains: new Set([d]),
      topologyKey: r.counter.key,
    });
  }
  for (const r of rules?.spread ?? []) {
    const t = state.tallies.get(r.counter) as Tally;
    const d = pins.get(r.counter.key) as string;
    const here = t.carriersIn.get(d) ?? new Set();
    here.add(r.config);
    t.carriersIn.set(d, here);
  }
}

/** The pins, the failures they add, and the self-affinity bundles packed around them. */
interface PinnedAndBundled {
  pinsOf: Map<Pod, Map<string, string>>;
  /** The pods failed before pinning, and those pinning and bundling failed. */
  failed: Set<Pod>;
  /** Failures added, in order: members bundles left out (round by round), then the last pinning's. */
  failures: TopologyFailure[];
  /** The bundles of the last pinning, when there are self-affinity sets to bundle. */
  bundles: Bundling | undefined;
}

/**
 * Pins, then bundles bootstrapping hostname self-affinity sets. A member its bundle leaves out was
 * counted in its domains when the others were pinned: it fails, and every pod is pinned again without
 * it (the failed set only grows, so this ends).
 */
function pinAroundBundles(
  given: PinInputs,
  bundle: ((pinsOf: Pinning["pinsOf"], failed: ReadonlySet<Pod>) => Bundling) | undefined,
): PinnedAndBundled {
  let failedBefore = given.failed;
  let doomedSoFar: TopologyFailure[] = [];
  for (;;) {
    const pinning = pinDomains({ ...given, failed: failedBefore });
    const failed = new Set([...failedBefore, ...pinning.failures.map((f) => f.pod)]);
    const failures = [...doomedSoFar, ...pinning.failures];
    const bundles = bundle?.(pinning.pinsOf, failed);
    const doomed = bundles?.rejected.filter((f) => pinning.pinsOf.has(f.pod)) ?? [];
    if (doomed.length === 0) return { pinsOf: pinning.pinsOf, failed, failures, bundles };
    failedBefore = new Set([...failedBefore, ...doomed.map((f) => f.pod)]);
    doomedSoFar = [...doomedSoFar, ...doomed];
  }
}

/** The refined groups: per group its pods, original group and pins, offering row, existing column and classes. */
interface RefinedGroups {
  groups: PodGroup[];
  origin: TopologyResult["origin"];
  rowOf: Uint8Array[];
  exOf: boolean[][];
  classesOf: ClassRef[][];
  /** Per refined group: its encoded requests when not its original group's (a bundle's sum). */
  requestsOf: (Float64Array | undefined)[];
}

/**
 * The kernel problem of the refined groups: their requests, counts and compatibility, the cap classes
 * they use (numbered as `kernelClass` says) and offering shapes split by every refined row; and per
 * group the reason to give when the kernel stops it on a cap.
 */
function refinedEncoding(
  enc: Encoding,
  refined: RefinedGroups,
  rawList: readonly RawClass[],
  kernelClass: ReadonlyMap<number, number>,
): { enc: Encoding; capReasons: (UnschedulableReason | undefined)[] } {
  const { groups, origin, rowOf, exOf, classesOf, requestsOf } = refined;
  const R = enc.problem.resources;
  const T = enc.offerings.length;
  const E = enc.existing.length;
  const W = Math.ceil(T / 32);
  const WE = Math.ceil(E / 32);
  const C = kernelClass.size;
  const capPerBin = new Int32Array(C);
  const conditional = new Uint8Array(C);
  const classCount = new Int32Array(E * C);
  for (const [i, c] of kernelClass) {
    const rc = rawList[i] as RawClass;
    capPerBin[c] = rc.cap;
    conditional[c] = rc.conditional ? 1 : 0;
    for (let e = 0; e < E; e++) classCount[e * C + c] = rc.existing[e] as number;
  }

  const G = groups.length;
  const requests = new Float64Array(G * R);
  const counts = new Int32Array(G);
  const compat = new Uint32Array(G * W);
  const existingCompat = new Uint32Array(G * WE);
  const classStart = new Int32Array(G + 1);
  const classList: number[] = [];
  const classFlags: number[] = [];
  const capReasons: (UnschedulableReason | undefined)[] = [];
  groups.forEach((sg, s) => {
    const g = origin[s]?.group as number;
    requests.set(requestsOf[s] ?? enc.problem.groups.requests.subarray(g * R, g * R + R), s * R);
    counts[s] = sg.pods.length;
    const row = rowOf[s] as Uint8Array;
    for (let t = 0; t < T; t++)
      if (row[t] === 1) compat[s * W + (t >>> 5)] = (compat[s * W + (t >>> 5)] as number) | (1 << (t & 31));
    const ex = exOf[s] as boolean[];
    for (let e = 0; e < E; e++)
      if (ex[e])
        existingCompat[s * WE + (e >>> 5)] = (existingCompat[s * WE + (e >>> 5)] as number) | (1 << (e & 31));
    // The reason given when the kernel stops the group on a cap: the tightest class that binds the
    // group's own nodes (it is counted and carries it; first on ties).
    let tightest: RawClass | undefined;
    for (const { i, flags } of classesOf[s] as { i: number; flags: number }[]) {
      const rc = rawList[i] as RawClass;
      classList.push(kernelClass.get(i) as number);
      classFlags.push(flags);
      const binds = flags === (CLASS_COUNTED | CLASS_ACTIVATES);
      if (binds && (tightest === undefined || rc.cap < tightest.cap)) tightest = rc;
    }
    classStart[s + 1] = classList.length;
    capReasons[s] = tightest?.reason;
  });
  // Offering shapes: equal before, and equal in every refined group's compatibility.
  const shape = new Int32Array(T);
  const shapeOf = new Map<string, number>();
  const distinctRows = new Set(rowOf);
  for (let t = 0; t < T; t++) {
    let column = `${enc.problem.offerings.shape[t]}|`;
    for (const row of distinctRows) column += row[t] === 1 ? "1" : "0";
    const rep = shapeOf.get(column);
    if (rep === undefined) shapeOf.set(column, t);
    shape[t] = rep ?? t;
  }
  const { offerings, capGroups, pools, existing } = enc.problem;
  return {
    capReasons,
    enc: {
      ...enc,
      groups,
      problem: encodedProblem({
        resources: R,
        groups: {
          requests,
          counts,
          compat,
          existingCompat,
          classStart,
          classList: Int32Array.from(classList),
          classFlags: Int32Array.from(classFlags),
          // Valued per solve (see provisioning's setGroupValues).
          value: new Float64Array(G),
        },
        offerings: { ...offerings, shape },
        capGroups,
        pools,
        existing: { remaining: existing.remaining, classCount },
        classes: { capPerBin, conditional },
        options: enc.problem.options,
      }),
    },
  };
}

/** Where a pod may run: its pins, and its offering row and existing-node column. */
interface Place {
  where: string;
  pins: [string, string][];
  row: Uint8Array;
  ex: boolean[];
}

/** A pod's raw cap class and its CLASS_COUNTED | CLASS_ACTIVATES flags in it. */
interface ClassRef {
  i: number;
  flags: number;
}

/** A bootstrapping hostname self-affinity set packed as one pod. */
interface Bundle {
  /** The original group of its first member. */
  g: number;
  /** The bundle pod (the first member, named `<name>+<others>`, requesting the sum). */
  pod: Pod;
  pins: [string, string][];
  row: Uint8Array;
  ex: boolean[];
  raw: ClassRef[];
  /** The summed requests in the encoding's resource order. */
  requests: Float64Array;
}

/** What bundling reads. */
interface BundleInputs {
  enc: Encoding;
  rawList: readonly RawClass[];
  podClasses: ReadonlyMap<Pod, ClassRef[]>;
  selfAffine: readonly SelfAffine[];
  failed: ReadonlySet<Pod>;
  placeOf: PlaceOf;
}

/** The bundles, and what they change: members that fail, classes added, pods not fully enforced. */
interface Bundling {
  /** Members packed inside a bundle. */
  bundled: Set<Pod>;
  list: Bundle[];
  /** Members a bundle leaves out: they fail. */
  rejected: TopologyFailure[];
  /** The raw classes given, then those bundles need. */
  rawClasses: RawClass[];
  /** The pods' classes given, with the added classes. */
  podClasses: Map<Pod, ClassRef[]>;
  /** Per bundle pod: the member pods it stands for. */
  members: Map<Pod, Pod[]>;
  /** Pending pods in a class two bundles count in (not modelled exactly: warned). */
  unenforced: number;
}

/**
 * Bootstrapping hostname self-affinity sets (carriers sharing a term, transitively), each packed as
 * one bundle pod: the largest prefix of its members in queue order that one node takes (an offering
 * or existing node both admit and hold, within every cap class); the rest fail. A member no node
 * takes alone is left to the kernel, which names why. Changes nothing it is given: the classes a
 * bundle needs come back with the ones given (`rawClasses`, `podClasses`).
 */
function bundleSelfAffinity(given: BundleInputs): Bundling {
  const { enc, rawList, podClasses, selfAffine, failed, placeOf } = given;
  const R = enc.problem.resources;
  const T = enc.offerings.length;
  const E = enc.existing.length;
  const rawAll = [...rawList];
  const classMap = new Map(podClasses);
  const membersOf = new Map<Pod, Pod[]>();
  const rejected: TopologyFailure[] = [];
  let unenforced = 0;
  const baseClasses = rawAll.length;
  /** Raw classes a bundle counts several members in (given a class of its own). */
  const multiCounted = new Set<number>();
  const groupOf = new Map<Pod, number>();
  enc.groups.forEach((group, g) => {
    for (const pod of group.pods) groupOf.set(pod, g);
  });
  const parent = new Map<string, string>();
  const root = (x: string): string => {
    const p = parent.get(x) ?? x;
    return p === x ? x : root(p);
  };
  for (const { id } of selfAffine) parent.set(id, parent.get(id) ?? id);
  const firstId = new Map<Pod, string>();
  for (const { pod, id } of selfAffine) {
    const prev = firstId.get(pod);
    if (prev === undefined) firstId.set(pod, id);
    else if (root(prev) !== root(id)) parent.set(root(id), root(prev));
  }
  const sets = new Map<string, { members: Pod[]; selector: string }>();
  for (const { pod, id, selector } of selfAffine) {
    if (failed.has(pod) || firstId.get(pod) !== id) continue;
    const r = root(id);
    const set = sets.get(r) ?? { members: [], selector };
    set.members.push(pod);
    sets.set(r, set);
  }
  const bundled = new Set<Pod>();
  const list: Bundle[] = [];
  const { allocatable } = enc.problem.offerings;
  const { remaining } = enc.problem.existing;
  for (const { members, selector } of sets.values()) {
    if (members.length < 2) continue;
    members.sort(comparePods);
    const sum = new Float64Array(R);
    /** Per raw class, the flags of each member taken so far. */
    const inClass = new Map<number, number[]>();
    let row: Uint8Array | undefined;
    let ex: boolean[] | undefined;
    const taken: Pod[] = [];
    const rest: Pod[] = [];
    for (const pod of members) {
      const g = groupOf.get(pod) as number;
      const place = placeOf(g, pod);
      const req = enc.problem.groups.requests.subarray(g * R, g * R + R);
      const fits = (r: Uint8Array, x: boolean[], add: boolean) => {
        const need = (i: number) => (add ? (sum[i] as number) : 0) + (req[i] as number);
        const holds = (cap: Float64Array, at: number) => {
          for (let i = 0; i < R; i++) if (need(i) > (cap[at * R + i] as number)) return false;
          return true;
        };
        for (let t = 0; t < T; t++) if (r[t] === 1 && holds(allocatable, t)) return true;
        for (let e = 0; e < E; e++) if (x[e] && holds(remaining, e)) return true;
        return false;
      };
      if (!fits(place.row, place.ex, false)) continue;
      const nextRow = row === undefined ? place.row : row.map((v, t) => v & (place.row[t] as number));
      const nextEx = ex === undefined ? place.ex : ex.map((v, e) => v && (place.ex[e] as boolean));
      const classes = classMap.get(pod) ?? [];
      // The set shares one node: within each class, its counted members stay within the cap once
      // one of them activates it (always, for an unconditional class).
      const capped = classes.some(({ i, flags }) => {
        const rc = rawAll[i] as RawClass;
        const there = [...(inClass.get(i) ?? []), flags];
        const counted = there.filter((f) => f & CLASS_COUNTED).length;
        return there.some((f) => f & CLASS_ACTIVATES) && counted > rc.cap;
      });
      if (rest.length > 0 || capped || !fits(nextRow, nextEx, taken.length > 0)) {
        rest.push(pod);
        continue;
      }
      row = nextRow;
      ex = nextEx;
      for (let i = 0; i < R; i++) sum[i] = (sum[i] as number) + (req[i] as number);
      for (const { i, flags } of classes) inClass.set(i, [...(inClass.get(i) ?? []), flags]);
      taken.push(pod);
    }
    for (const pod of rest) {
      const failure = {
        pod,
        reason: { code: "pod_affinity_unsatisfiable", topologyKey: HOSTNAME, selector },
      } as const;
      rejected.push(failure);
    }
    const [first] = taken;
    if (first === undefined || row === undefined || ex === undefined || taken.length < 2) continue;
    for (const pod of taken) bundled.add(pod);
    const raw = [...inClass].map(([i, flags]) => ({ i, flags: flags.reduce((a, f) => a | f, 0) }));
    // The bundle is one pod to the kernel: a class of cap m that counts k > 1 of its members needs
    // more than a count of one (anti-affinity caps are 0 and 1, where any count already suffices).
    // k > m: no pod carrying the constraint may share its node (a class of cap 0 counting the bundle,
    // activated by the carriers); k <= m: its node takes at most m - k other counted pods (a class of
    // cap m - k + 1 counting as the original does, activated by the bundle alone). A class two such
    // bundles count in is not modelled exactly: warned.
    const taking = new Set(taken);
    for (const [i, flags] of inClass) {
      const rc = rawAll[i] as RawClass;
      const k = flags.filter((f) => f & CLASS_COUNTED).length;
      if (rc.reason.code === "pod_anti_affinity_conflict" || k < 2) continue;
      if (i >= baseClasses || multiCounted.has(i)) {
        unenforced += taken.length;
        continue;
      }
      multiCounted.add(i);
      const out = k > rc.cap;
      const flagOf = (f: number) => (out ? f & CLASS_ACTIVATES : f & CLASS_COUNTED);
      const members = new Map<Pod, number>();
      for (const [p, f] of rc.members) if (!taking.has(p) && flagOf(f) !== 0) members.set(p, flagOf(f));
      const existing = out ? new Int32Array(E) : rc.existing;
      rawAll.push({
        cap: out ? 0 : rc.cap - k + 1,
        existing,
        reason: rc.reason,
        conditional: true,
        members,
      });
      const j = rawAll.length - 1;
      for (const [p, flag] of members) classMap.set(p, [...(classMap.get(p) ?? []), { i: j, flags: flag }]);
      // Bundles made before this one stand for their members.
      for (const b of list) {
        const flag = (membersOf.get(b.pod) ?? []).reduce((a, p) => a | (members.get(p) ?? 0), 0);
        if (flag !== 0) b.raw.push({ i: j, flags: flag });
      }
      raw.push({ i: j, flags: out ? CLASS_COUNTED : CLASS_COUNTED | CLASS_ACTIVATES });
    }
    const requests: Record<string, number> = {};
    for (const pod of taken)
      for (const [k, v] of Object.entries(pod.requests)) requests[k] = (requests[k] ?? 0) + v;
    const g = groupOf.get(first) as number;
    list.push({
      g,
      pod: { ...first, name: `${first.name}+${taken.length - 1}`, requests },
      pins: placeOf(g, first).pins,
      row,
      ex,
      raw,
      requests: sum,
    });
    membersOf.set(list.at(-1)?.pod as Pod, taken);
  }
  return {
    bundled,
    list,
    rejected,
    rawClasses: rawAll,
    podClasses: classMap,
    members: membersOf,
    unenforced,
  };
}
