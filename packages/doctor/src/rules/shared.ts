import { podKey } from "@nodeplan/core";
import type { JsonPatchOperation } from "../finding.ts";
import { type DoctorGraph, describe, type Pdb, type Pool, type Workload } from "../graph.ts";
import { type Segment, setOperation } from "../json-patch.ts";
import { at, isRaw, listAt } from "../raw.ts";
import type { Named } from "../rule.ts";

/** Shared pieces of several rules: names, PDB arithmetic, node affinity patches. */

/** `Deployment shop/api`. */
export const name = describe;

/** `NodePool a, NodePool b`. */
export const names = (os: readonly { kind: string; namespace?: string; name: string }[]) =>
  os.map(describe).join(", ");

/** The pods of a workload as `ns/name` keys. */
export const podKeys = (w: Workload): Set<string> => new Set(w.pods.map(podKey));

/** A NodePool as a named object of a finding (only NodePools of the input have one). */
export const poolNamed = (pools: readonly Pool[], path?: Segment[]): Named[] =>
  pools.flatMap((p) =>
    p.obj === undefined ? [] : [path === undefined ? { obj: p.obj } : { obj: p.obj, path }],
  );

/** Kubernetes' GetScaledValueFromIntOrPercent, rounding up (as the disruption controller does). */
function scaled(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
}

/** Disruptions a PDB allows with `expected` pods, all healthy. */
function pdbAllows(pdb: Pdb, expected: number): number | undefined {
  const m = pdb.model;
  if (m === undefined) return undefined;
  if (m.maxUnavailable !== undefined) return scaled(m.maxUnavailable, expected);
  if (m.minAvailable !== undefined) return expected - scaled(m.minAvailable, expected);
  return undefined;
}

/** The pod counts a PDB can see: the sum of its workloads' replica ranges, or the pods it selects now. */
export function pdbExpected(pdb: Pdb): { low: number; high: number } {
  if (pdb.workloads.length > 0)
    return pdb.workloads.reduce((s, w) => ({ low: s.low + w.replicas.low, high: s.high + w.replicas.high }), {
      low: 0,
      high: 0,
    });
  const n = pdb.pods.filter((p) => p.phase !== "Succeeded" && p.phase !== "Failed").length;
  return { low: n, high: n };
}

/** A PDB that allows no disruption at any pod count its workloads can have (and selects some pods). */
export function pdbAlwaysZero(pdb: Pdb): boolean {
  const { low, high } = pdbExpected(pdb);
  if (high < 1) return false;
  // A million replicas at most (the loader's cap); a range that long is not a PDB's.
  for (let n = Math.max(1, low); n <= Math.min(high, low + 1_000_000); n++) {
    const allowed = pdbAllows(pdb, n);
    if (allowed === undefined || allowed > 0) return false;
  }
  return true;
}

/** PDBs of the input that always allow 0, by the pods they hold. */
export function blockingPdbs(graph: DoctorGraph): Pdb[] {
  return graph.pdbs.filter(pdbAlwaysZero);
}

/** The `karpenter.sh/do-not-disrupt: "true"` annotation (a duration value protects only that long). */
export const DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt";

/**
 * Operations adding a required node affinity expression to a pod template: to every term when there
 * are terms (they are ORed), else as the one term.
 */
export function requireNodeAffinity(
  w: Workload,
  expression: { key: string; operator: string; values?: string[] },
): JsonPatchOperation[] {
  const termsPath: Segment[] = [
    ...w.templatePath,
    "spec",
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
  ];
  const terms = listAt(w.raw, termsPath);
  if (terms.length === 0) return [setOperation(w.raw, termsPath, [{ matchExpressions: [expression] }])];
  return terms.map((_, i) => setOperation(w.raw, [...termsPath, i, "matchExpressions", "-"], expression));
}

/** Every NoSchedule or NoExecute taint of a NodePool, with its index in the manifest. */
export const schedulingTaints = (pool: Pool) =>
  pool.model.template.taints.filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");

/** Is a raw value a non-empty object (a limits map that says something)? */
export const nonEmpty = (v: unknown) => isRaw(v) && Object.keys(v).length > 0;

/** The objects of the input that are Karpenter-style autoscalers (Karpenter, nodeplan's controller). */
export function isNodeAutoscaler(w: Workload): boolean {
  const labels = [w.podLabels["app.kubernetes.io/name"], w.podLabels.app, at(w.raw, ["metadata", "name"])];
  if (labels.some((l) => l === "karpenter" || l === "nodeplan" || l === "nodeplan-controller")) return true;
  return w.containers.some((c) =>
    /(^|\/)(karpenter\/controller|karpenter|nodeplan-controller)([:@]|$)/.test(c.image),
  );
}

/** Cluster Autoscaler's Deployment (its image or name). */
export function isClusterAutoscaler(w: Workload): boolean {
  if (
    w.podLabels["app.kubernetes.io/name"] === "cluster-autoscaler" ||
    w.podLabels.app === "cluster-autoscaler"
  )
    return true;
  return w.containers.some((c) => /(^|\/)cluster-autoscaler([:@]|$)/.test(c.image));
}
