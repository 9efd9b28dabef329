import type { LabelSelector, Pod, PodDisruptionBudget } from "../model.ts";

/**
 * PodDisruptionBudget arithmetic as Kubernetes' disruption controller computes it
 * (pkg/controller/disruption/disruption.go): expected pods, desired healthy, disruptions allowed.
 */

/** A PDB's state over the pods it selects. */
export interface PdbStatus {
  pdb: string;
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

/** Does a pod match a label selector (an empty selector matches every pod)? */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions) {
    const value = labels[e.key];
    const ok =
      e.operator === "In"
        ? value !== undefined && e.values.includes(value)
        : e.operator === "NotIn"
          ? value === undefined || !e.values.includes(value)
          : e.operator === "Exists"
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}

/** Pods a PDB selects: same namespace, matching selector, not finished. */
export function podsSelectedBy(pdb: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  return pods.filter(
    (p) =>
      p.namespace === pdb.namespace &&
      p.phase !== "Succeeded" &&
      p.phase !== "Failed" &&
      selectorMatches(pdb.selector, p.labels),
  );
}

/** Kubernetes' GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  const percent = Number(value.slice(0, -1));
  return Math.ceil((percent * total) / 100);
}

/** Computes a PDB's disruptionsAllowed over the given pods (healthy = running, bound, not terminating). */
export function pdbStatus(pdb: PodDisruptionBudget, pods: readonly Pod[]): PdbStatus {
  const selected = podsSelectedBy(pdb, pods);
  const expectedPods = selected.length;
  const currentHealthy = selected.filter(pdbHealthy).length;
  const desiredHealthy = desiredHealthyPods(pdb, expectedPods);
  return {
    pdb: `${pdb.namespace}/${pdb.name}`,
    expectedPods,
    currentHealthy,
    desiredHealthy,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}

/** How many of a PDB's `expectedPods` must stay healthy. */
export function desiredHealthyPods(pdb: PodDisruptionBudget, expectedPods: number): number {
  if (pdb.maxUnavailable !== undefined)
    return Math.max(0, expectedPods - scaledValue(pdb.maxUnavailable, expectedPods));
  if (pdb.minAvailable !== undefined) return scaledValue(pdb.minAvailable, expectedPods);
  // Neither set: the API server defaults minAvailable to 1.
  return 1;
}

/** Is a pod healthy for its PDBs (running, bound, not terminating)? */
export function pdbHealthy(p: Pod): boolean {
  return p.phase === "Running" && p.nodeName !== undefined && !p.terminating;
}
