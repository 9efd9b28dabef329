import type { PodDisruptionBudget } from "@nodeplan/core";
import { type IntOrPercent, scaled } from "./workloads.ts";

/**
 * The eviction API's PodDisruptionBudget check (policy/v1 Eviction; pkg/registry/core/pod/storage/
 * eviction.go and the disruption controller's arithmetic).
 */

/** A PDB's state as the disruption controller computes it. */
export interface PdbCounts {
  /** Ready pods the PDB selects (not terminating). */
  healthy: number;
  /** Pods that must stay healthy. */
  desired: number;
}

/**
 * desiredHealthy of a PDB: with maxUnavailable (or a percentage minAvailable) over the expected count, the
 * workloads' replicas; with an integer minAvailable, that number; with neither, 1. Percentages round up.
 */
export function desiredHealthy(
  pdb: Pick<PodDisruptionBudget, "minAvailable" | "maxUnavailable">,
  expected: number,
): number {
  if (pdb.maxUnavailable !== undefined)
    return Math.max(0, expected - scaled(pdb.maxUnavailable as IntOrPercent, expected, true));
  if (pdb.minAvailable !== undefined) return scaled(pdb.minAvailable as IntOrPercent, expected, true);
  return 1;
}

/** Why an eviction is refused, or undefined when it goes through. */
export type EvictionRefusal =
  | { code: "too_many_requests"; pdb: string; healthy: number; desired: number }
  | { code: "multiple_pdbs"; pdbs: string[] };

/**
 * Whether the API server lets an eviction of a pod through: refused with 429 while a PDB covering the pod
 * allows no disruption (healthy - desired < 1), with 500 when more than one PDB covers it. A pod that is
 * not Ready may be evicted when its PDB is currently healthy (healthy >= desired), or always with
 * unhealthyPodEvictionPolicy AlwaysAllow.
 */
export function evictionRefusal(
  podReady: boolean,
  covering: readonly { name: string; pdb: PodDisruptionBudget; counts: PdbCounts }[],
): EvictionRefusal | undefined {
  if (covering.length > 1) return { code: "multiple_pdbs", pdbs: covering.map((c) => c.name).sort() };
  const only = covering[0];
  if (only === undefined) return undefined;
  const { healthy, desired } = only.counts;
  if (podReady) {
    if (healthy - desired < 1) return { code: "too_many_requests", pdb: only.name, healthy, desired };
    return undefined;
  }
  if (only.pdb.unhealthyPodEvictionPolicy === "AlwaysAllow" || healthy >= desired) return undefined;
  return { code: "too_many_requests", pdb: only.name, healthy, desired };
}
