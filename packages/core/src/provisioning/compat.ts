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
import { valueSatisfiesRequirement } from "../requirements.ts";

/**
 * Can pods with these constraints run on a node launched from this offering? Karpenter's rule
 * (scheduling/requirements.go Compatible + Intersects) applied to a concrete offering: every key the
 * node will carry has one value (instance type labels, zone, capacity type, NodePool, template labels)
 * except keys the NodePool constrains with a multi-valued requirement, which stay a set until the
 * claim is made. A pod requirement on a key the node will not define is allowed only for Karpenter's
 * well-known labels (undefined is allowed) or for NotIn / DoesNotExist.
 */

/** Karpenter core's well-known labels: they may be undefined on the node side. */
const WELL_KNOWN = new Set([
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "node.kubernetes.io/windows-build",
  "karpenter.sh/capacity-type",
  "karpenter.sh/nodepool",
  "kubernetes.io/hostname",
]);

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

/** The first taint (NoSchedule or NoExecute) among `taints` that the tolerations do not tolerate. */
export function untoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): Taint | undefined {
  return taints.find((t) => t.effect !== "PreferNoSchedule" && !tolerations.some((tol) => tolerates(tol, t)));
}

function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect !== undefined && tol.effect !== taint.effect) return false;
  if ((tol.operator ?? "Equal") === "Exists")
    return tol.key === undefined || tol.key === "" || tol.key === taint.key;
  return tol.key === taint.key && (tol.value ?? "") === (taint.value ?? "");
}

/** The NodePool taint the constraints do not tolerate (startup taints do not count, as in Karpenter). */
export function untoleratedPoolTaint(c: PodConstraints, pool: NodePool): Taint | undefined {
  return untoleratedTaint(pool.template.taints, c.tolerations);
}

/** Does the NodePool allow this instance type and offering at all (its requirements vs the type's labels)? */
export function poolAccepts(pool: NodePool, it: InstanceType, o: Offering): boolean {
  const view = offeringView(pool, it, o);
  return pool.template.requirements.every((r) => {
    const v = view.single.get(r.key);
    return v === undefined
      ? !isTypeKey(view, r.key) || valueSatisfiesRequirement(undefined, r)
      : valueSatisfiesRequirement(v, r);
  });
}

/** Can pods with constraints `c` run on a node from this offering of this NodePool? */
export function offeringAccepts(c: PodConstraints, pool: NodePool, it: InstanceType, o: Offering): boolean {
  if (untoleratedPoolTaint(c, pool) !== undefined) return false;
  return requirementConflict(c, pool, it, o) === undefined;
}

/** The first requirement conflict between the constraints and the offering, or undefined when compatible. */
export function requirementConflict(
  c: PodConstraints,
  pool: NodePool,
  it: InstanceType,
  o: Offering,
): { key: string; podRequirement: string; nodePoolRequirement?: string } | undefined {
  const view = offeringView(pool, it, o);
  let first: { key: string; podRequirement: string; nodePoolRequirement?: string } | undefined;
  for (const alternative of c.alternatives) {
    const conflict = alternative.find((r) => !requirementAllowed(r, view));
    if (conflict === undefined) return undefined;
    if (first === undefined) {
      const poolReq = view.sets.get(conflict.key);
      const found: { key: string; podRequirement: string; nodePoolRequirement?: string } = {
        key: conflict.key,
        podRequirement: describe(conflict),
      };
      const single = view.single.get(conflict.key);
      if (poolReq !== undefined) found.nodePoolRequirement = describe(poolReq);
      else if (single !== undefined) found.nodePoolRequirement = `${conflict.key}=${single} on ${it.name}`;
      first = found;
    }
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
  return offeringView(pool, it, o).single.get(key);
}

/** Can pods with constraints `c` run on this existing node (its labels and taints as they are)? */
export function nodeAccepts(c: PodConstraints, node: Node): boolean {
  if (untoleratedTaint(node.taints, c.tolerations) !== undefined) return false;
  return c.alternatives.some((alt) => alt.every((r) => valueSatisfiesRequirement(node.labels[r.key], r)));
}

/** Does a DaemonSet's pod land on nodes of this offering (tolerations and node selection)? */
export function daemonSetFits(ds: DaemonSet, pool: NodePool, it: InstanceType, o: Offering): boolean {
  return offeringAccepts(constraintsOf({ ...ds, volumeRequirements: [] }), pool, it, o);
}

interface OfferingView {
  /** Keys with one known value on the node. */
  single: Map<string, string>;
  /** Keys the NodePool constrains to a set. */
  sets: Map<string, NodeSelectorRequirement>;
  /** Label keys instance types of this NodePool carry (absent on a type = the type does not have it). */
  typeKeys: Set<string>;
}

const typeKeysCache = new WeakMap<InstanceType, Set<string>>();

function offeringView(pool: NodePool, it: InstanceType, o: Offering): OfferingView {
  const single = new Map<string, string>(Object.entries(it.labels));
  for (const [k, v] of Object.entries(pool.template.labels)) single.set(k, v);
  single.set("topology.kubernetes.io/zone", o.zone);
  single.set("karpenter.sh/capacity-type", o.capacityType);
  single.set("karpenter.sh/nodepool", pool.name);
  single.set("node.kubernetes.io/instance-type", it.name);
  const sets = new Map<string, NodeSelectorRequirement>();
  for (const r of pool.template.requirements) {
    if (single.has(r.key)) continue;
    if (r.operator === "In" && r.values.length === 1) single.set(r.key, r.values[0] as string);
    else sets.set(r.key, r);
  }
  let typeKeys = typeKeysCache.get(it);
  if (typeKeys === undefined) {
    typeKeys = new Set(
      Object.keys(it.labels).filter(
        (k) => k.startsWith("karpenter.k8s.aws/") || k.includes("gpu") || k.includes("accelerator"),
      ),
    );
    typeKeysCache.set(it, typeKeys);
  }
  return { single, sets, typeKeys };
}

function isTypeKey(view: OfferingView, key: string): boolean {
  return view.typeKeys.has(key) || key.startsWith("karpenter.k8s.aws/");
}

/** Is the pod requirement satisfiable by the node this view describes? */
function requirementAllowed(r: NodeSelectorRequirement, view: OfferingView): boolean {
  const v = view.single.get(r.key);
  if (v !== undefined) return valueSatisfiesRequirement(v, r);
  const set = view.sets.get(r.key);
  if (set !== undefined) return setsIntersect(r, set);
  // Provider labels an instance type does not carry mean the type lacks the feature (Karpenter's AWS
  // provider sets them to DoesNotExist); other undefined keys are allowed only when well known.
  if (isTypeKey(view, r.key)) return valueSatisfiesRequirement(undefined, r);
  return WELL_KNOWN.has(r.key) || r.operator === "NotIn" || r.operator === "DoesNotExist";
}

/** Do a pod requirement and a NodePool requirement on the same key admit a common value? */
function setsIntersect(pod: NodeSelectorRequirement, pool: NodeSelectorRequirement): boolean {
  // Finite side: check its values against the other requirement.
  if (pool.operator === "In") return pool.values.some((v) => valueSatisfiesRequirement(v, pod));
  if (pod.operator === "In") return pod.values.some((v) => valueSatisfiesRequirement(v, pool));
  if (pool.operator === "DoesNotExist") return pod.operator === "NotIn" || pod.operator === "DoesNotExist";
  if (pod.operator === "DoesNotExist") return pool.operator === "NotIn";
  // Both infinite (NotIn, Exists, Gt, Lt...): look for an integer in the intersection of the bounds.
  let lo = Math.max(lowerBound(pod), lowerBound(pool));
  const hi = Math.min(upperBound(pod), upperBound(pool));
  if (lo === Number.NEGATIVE_INFINITY && hi === Number.POSITIVE_INFINITY) return true;
  if (lo === Number.NEGATIVE_INFINITY) lo = hi - 1000;
  // NotIn lists are finite, so a thousand candidates past the bound always find a free value.
  for (let x = lo; x <= hi && x <= lo + 1000; x++) {
    const s = String(x);
    if (valueSatisfiesRequirement(s, pod) && valueSatisfiesRequirement(s, pool)) return true;
  }
  return false;
}

function lowerBound(r: NodeSelectorRequirement): number {
  const b = Number(r.values[0]);
  if (r.operator === "Gt") return b + 1;
  if (r.operator === "Gte") return b;
  return Number.NEGATIVE_INFINITY;
}

function upperBound(r: NodeSelectorRequirement): number {
  const b = Number(r.values[0]);
  if (r.operator === "Lt") return b - 1;
  if (r.operator === "Lte") return b;
  return Number.POSITIVE_INFINITY;
}

function describe(r: NodeSelectorRequirement): string {
  return `${r.key} ${r.operator}${r.values.length > 0 ? ` ${r.values.join(",")}` : ""}`;
}
