import type {
  DaemonSet,
  InstanceType,
  Node,
  NodePool,
  NodeSelectorRequirement,
  Offering,
  Pod,
  Taint,
  Toleration,
} from "../model.ts";
import { admitsAbsence, Requirement, Requirements, requirementsAgree } from "../requirements.ts";
import { taintEffects, untoleratedTaints } from "../taints.ts";
import { normalizeLabelKey, WELL_KNOWN_LABEL_SET } from "../well-known-labels.ts";
import { PREFER_NO_SCHEDULE_TOLERATION } from "./preferences.ts";

/**
 * Can pods with these constraints run on a node launched from this offering? Karpenter's rule
 * (scheduling/requirements.go Compatible + Intersects, through `requirementsAgree`) applied to a
 * concrete offering: every key the node will carry has one value (instance type labels, zone, capacity
 * type, NodePool, template labels) except keys the NodePool constrains with a multi-valued requirement,
 * which stay a set until the claim is made, and the hostname, which a new claim holds as a placeholder.
 * A pod requirement on a key the node will not define is allowed only for Karpenter's well-known labels
 * (undefined is allowed) or when it admits absence (NotIn, DoesNotExist); provider labels an instance
 * type lacks read as DoesNotExist (Karpenter's AWS provider), which comes to the same. Existing nodes
 * are matched strictly on their labels (no well-known exception), as Karpenter's ExistingNode does.
 * Taints of every effect repel, PreferNoSchedule included, as in Karpenter's simulation: the
 * preference relaxation (preferences.ts) adds a PreferNoSchedule toleration as its last step.
 */

const ZONE = "topology.kubernetes.io/zone";
const ZONE_ID = "topology.k8s.aws/zone-id";
const CAPACITY_TYPE = "karpenter.sh/capacity-type";
const HOSTNAME = "kubernetes.io/hostname";
/** A new claim's hostname (Karpenter: `hostname-placeholder-NNNN`): no pod can name it. */
const HOSTNAME_PLACEHOLDER = "hostname-placeholder";

/** A pod's scheduling constraints against nodes, with a key identifying equal constraints. */
export interface PodConstraints {
  key: string;
  /** ORed alternatives; each is an ANDed list (nodeSelector, one required affinity term, volume requirements). */
  alternatives: NodeSelectorRequirement[][];
  tolerations: Toleration[];
}

/** Extracts the node-facing constraints of a pod (or a DaemonSet's pod template). */
export function constraintsOf(
  pod: Pick<Pod, "nodeSelector" | "requiredNodeAffinity" | "tolerations"> & {
    volumeRequirements?: Pod["volumeRequirements"];
  },
): PodConstraints {
  const base: NodeSelectorRequirement[] = Object.keys(pod.nodeSelector)
    .sort()
    .map((key) => ({ key, operator: "In" as const, values: [pod.nodeSelector[key] as string] }));
  base.push(...(pod.volumeRequirements ?? []));
  const alternatives =
    pod.requiredNodeAffinity.length === 0
      ? [base]
      : pod.requiredNodeAffinity.map((t) => [...base, ...t.matchExpressions]);
  const tolerations = [...pod.tolerations];
  return { key: JSON.stringify([alternatives, tolerations]), alternatives, tolerations };
}

/** Each alternative as Requirements (repeats of a key intersected), parsed once per constraints object. */
const parsedAlternatives = new WeakMap<PodConstraints, Requirements[]>();

function alternativesOf(c: PodConstraints): Requirements[] {
  let parsed = parsedAlternatives.get(c);
  if (parsed === undefined) {
    parsed = c.alternatives.map((alt) => Requirements.fromNodeSelectorRequirements(alt));
    parsedAlternatives.set(c, parsed);
  }
  return parsed;
}

/**
 * The first NoSchedule or NoExecute taint among `taints` that the tolerations do not tolerate: the
 * taints kube-scheduler's topology spread `nodeTaintsPolicy: Honor` looks at. Scheduling itself
 * (`offeringAccepts`, `nodeAccepts`, `untoleratedPoolTaint`) also counts PreferNoSchedule.
 */
export function untoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): Taint | undefined {
  return untoleratedTaints(taints, tolerations)[0];
}

/** The first taint of any effect the tolerations do not tolerate (Karpenter's Taints.ToleratesPod). */
function repellingTaint(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint | undefined {
  return taints.length === 0
    ? undefined
    : untoleratedTaints(taints, tolerations, { effects: taintEffects })[0];
}

/**
 * The NodePool taint the constraints do not tolerate, PreferNoSchedule included (startup taints do not
 * count, as in Karpenter).
 */
export function untoleratedPoolTaint(c: PodConstraints, pool: NodePool): Taint | undefined {
  return repellingTaint(pool.template.taints, c.tolerations);
}

/** Does the NodePool allow this instance type and offering at all (its requirements vs the type's labels)? */
export function poolAccepts(pool: NodePool, it: InstanceType, o: Offering): boolean {
  const view = typeView(pool, it);
  for (const r of poolRequirements(pool)) {
    const v = offeringValue(view, o, r.key);
    if (v !== undefined ? !r.has(v) : isTypeKey(view, r.key) && !admitsAbsence(r)) return false;
  }
  return true;
}

/** Can pods with constraints `c` run on a node from this offering of this NodePool? */
export function offeringAccepts(c: PodConstraints, pool: NodePool, it: InstanceType, o: Offering): boolean {
  if (untoleratedPoolTaint(c, pool) !== undefined) return false;
  const view = typeView(pool, it);
  return alternativesOf(c).some((alt) => firstConflict(alt, view, o) === undefined);
}

/** The first requirement conflict between the constraints and the offering, or undefined when compatible. */
export function requirementConflict(
  c: PodConstraints,
  pool: NodePool,
  it: InstanceType,
  o: Offering,
): { key: string; podRequirement: string; nodePoolRequirement?: string } | undefined {
  const view = typeView(pool, it);
  let first: { key: string; podRequirement: string; nodePoolRequirement?: string } | undefined;
  const parsed = alternativesOf(c);
  for (let a = 0; a < parsed.length; a++) {
    const key = firstConflict(parsed[a] as Requirements, view, o);
    if (key === undefined) return undefined;
    if (first !== undefined) continue;
    const written = (c.alternatives[a] as NodeSelectorRequirement[]).filter((r) => sameKey(r.key, key));
    first = { key, podRequirement: describeAll(written, parsed[a] as Requirements, key) };
    const poolReqs = pool.template.requirements.filter((r) => sameKey(r.key, key));
    const single = offeringValue(view, o, key);
    if (poolReqs.length > 0 && view.sets.has(key))
      first.nodePoolRequirement = poolReqs.map(describe).join(", ");
    else if (key === HOSTNAME) first.nodePoolRequirement = `${key} of a new node (not known before launch)`;
    else if (single !== undefined) first.nodePoolRequirement = `${key}=${single} on ${it.name}`;
  }
  return first;
}

/** The single value a node launched from this offering carries on `key`, or undefined (unset or still a set). */
export function offeringLabel(
  pool: NodePool,
  it: InstanceType,
  o: Offering,
  key: string,
): string | undefined {
  return offeringValue(typeView(pool, it), o, key);
}

/** Can pods with constraints `c` run on this existing node (its labels and taints as they are)? */
export function nodeAccepts(c: PodConstraints, node: Node): boolean {
  if (repellingTaint(node.taints, c.tolerations) !== undefined) return false;
  return alternativesOf(c).some((alt) => {
    for (const r of alt) {
      const v = node.labels[r.key];
      if (v !== undefined ? !r.has(v) : !admitsAbsence(r)) return false;
    }
    return true;
  });
}

const daemonSetConstraints = new WeakMap<DaemonSet, PodConstraints>();

/** Does a DaemonSet's pod land on nodes of this offering (tolerations and node selection)? */
export function daemonSetFits(ds: DaemonSet, pool: NodePool, it: InstanceType, o: Offering): boolean {
  let c = daemonSetConstraints.get(ds);
  if (c === undefined) {
    c = constraintsOf({
      ...ds,
      // PreferNoSchedule taints never keep a DaemonSet's pods away (Karpenter's isDaemonPodCompatible).
      tolerations: [...ds.tolerations, { ...PREFER_NO_SCHEDULE_TOLERATION }],
      volumeRequirements: [],
    });
    daemonSetConstraints.set(ds, c);
  }
  return offeringAccepts(c, pool, it, o);
}

/** What a node of one NodePool and instance type carries, before the offering's zone and capacity type. */
interface TypeView {
  /** Keys with one known value on the node (zone and capacity type come from the offering). */
  single: Map<string, string>;
  /** Keys the NodePool constrains to a set (repeats intersected), and the claim's hostname placeholder. */
  sets: Map<string, Requirement>;
  /** Label keys instance types of this NodePool carry (absent on a type = the type does not have it). */
  typeKeys: Set<string>;
}

const typeKeysCache = new WeakMap<InstanceType, Set<string>>();
const typeViews = new WeakMap<NodePool, WeakMap<InstanceType, TypeView>>();
const poolRequirementsCache = new WeakMap<NodePool, Requirements>();

function poolRequirements(pool: NodePool): Requirements {
  let reqs = poolRequirementsCache.get(pool);
  if (reqs === undefined) {
    reqs = Requirements.fromNodeSelectorRequirements(pool.template.requirements);
    poolRequirementsCache.set(pool, reqs);
  }
  return reqs;
}

function typeView(pool: NodePool, it: InstanceType): TypeView {
  let byType = typeViews.get(pool);
  if (byType === undefined) {
    byType = new WeakMap();
    typeViews.set(pool, byType);
  }
  let view = byType.get(it);
  if (view !== undefined) return view;
  const single = new Map<string, string>(Object.entries(it.labels));
  for (const [k, v] of Object.entries(pool.template.labels)) single.set(k, v);
  single.delete(ZONE);
  single.delete(CAPACITY_TYPE);
  single.set("karpenter.sh/nodepool", pool.name);
  single.set("node.kubernetes.io/instance-type", it.name);
  const sets = new Map<string, Requirement>();
  for (const r of poolRequirements(pool)) {
    if (single.has(r.key) || r.key === ZONE || r.key === CAPACITY_TYPE) continue;
    const values = r.values();
    if (values?.length === 1) single.set(r.key, values[0] as string);
    else sets.set(r.key, r);
  }
  if (!single.has(HOSTNAME) && !sets.has(HOSTNAME))
    sets.set(HOSTNAME, Requirement.in(HOSTNAME, [HOSTNAME_PLACEHOLDER]));
  let typeKeys = typeKeysCache.get(it);
  if (typeKeys === undefined) {
    typeKeys = new Set(
      Object.keys(it.labels).filter(
        (k) => k.startsWith("karpenter.k8s.aws/") || k.includes("gpu") || k.includes("accelerator"),
      ),
    );
    typeKeysCache.set(it, typeKeys);
  }
  view = { single, sets, typeKeys };
  byType.set(it, view);
  return view;
}

function offeringValue(view: TypeView, o: Offering, key: string): string | undefined {
  if (key === ZONE) return o.zone;
  if (key === CAPACITY_TYPE) return o.capacityType;
  // The zone ID (AWS's topology.k8s.aws/zone-id) is the offering's, like its zone name.
  if (key === ZONE_ID && o.zoneId !== undefined) return o.zoneId;
  return view.single.get(key);
}

function isTypeKey(view: TypeView, key: string): boolean {
  return view.typeKeys.has(key) || key.startsWith("karpenter.k8s.aws/");
}

/** The first key (in key order) on which the pod's requirements and the offering's node disagree. */
function firstConflict(pod: Requirements, view: TypeView, o: Offering): string | undefined {
  for (const r of pod) {
    const v = offeringValue(view, o, r.key);
    if (v !== undefined) {
      if (!r.has(v)) return r.key;
      continue;
    }
    const set = view.sets.get(r.key);
    if (set !== undefined) {
      if (!requirementsAgree(set, r)) return r.key;
      continue;
    }
    // Undefined on the node: well-known labels may be; anything else (provider labels a type lacks
    // read as DoesNotExist included) only when the pod's requirement admits absence.
    if (!WELL_KNOWN_LABEL_SET.has(r.key) && !admitsAbsence(r)) return r.key;
  }
  return undefined;
}

function sameKey(written: string, key: string): boolean {
  return written === key || normalizeLabelKey(written) === key;
}

function describeAll(written: NodeSelectorRequirement[], parsed: Requirements, key: string): string {
  if (written.length > 0) return written.map(describe).join(", ");
  return parsed.get(key).toNodeSelectorRequirements().map(describe).join(", ");
}

function describe(r: NodeSelectorRequirement): string {
  return `${r.key} ${r.operator}${r.values.length > 0 ? ` ${r.values.join(",")}` : ""}`;
}
