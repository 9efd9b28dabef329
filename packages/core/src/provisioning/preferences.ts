import type { Pod } from "../model.ts";

/**
 * Karpenter's preference handling (scheduling/preferences.go): with `preferencePolicy: Respect` a pod
 * is first scheduled as if its preferences were required (preferred pod affinity and anti-affinity
 * terms, the heaviest preferred node-affinity term, ScheduleAnyway spread as DoNotSchedule); each
 * failure relaxes one step, in this order: the heaviest preferred pod-affinity term, the heaviest
 * preferred anti-affinity term, the heaviest preferred node-affinity term (the next heaviest is then
 * tried as required), one ScheduleAnyway constraint. `Ignore` drops preferences from the start.
 * ORed required node-affinity terms need no relaxation step: every term is an alternative already.
 */

export type PreferencePolicy = "Respect" | "Ignore";

const byWeight = <T extends { weight: number }>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => b.weight - a.weight);

const originals = new WeakMap<Pod, Pod>();

/** The pod as written, for a pod `withPreferences` derived (undefined for any other pod). */
export function originalPod(pod: Pod): Pod | undefined {
  return originals.get(pod);
}

/** How many relaxation steps the pod has under `Respect`. */
export function relaxationSteps(pod: Pod): number {
  return (
    pod.podAffinity.preferred.length +
    pod.podAntiAffinity.preferred.length +
    pod.preferredNodeAffinity.filter((p) => p.preference.matchExpressions.length > 0).length +
    pod.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === "ScheduleAnyway").length
  );
}

/** The pod as scheduled after `level` relaxation steps (the pod itself when it has no preferences). */
export function withPreferences(pod: Pod, level: number, policy: PreferencePolicy): Pod {
  const steps = relaxationSteps(pod);
  if (steps === 0) return pod;
  let left = policy === "Ignore" ? steps : level;
  const take = <T>(xs: readonly T[]): T[] => {
    const dropped = Math.min(left, xs.length);
    left -= dropped;
    return xs.slice(dropped);
  };
  const affinity = take(byWeight(pod.podAffinity.preferred)).map((w) => w.term);
  const anti = take(byWeight(pod.podAntiAffinity.preferred)).map((w) => w.term);
  const nodePrefs = take(
    byWeight(pod.preferredNodeAffinity.filter((p) => p.preference.matchExpressions.length > 0)),
  );
  const anyway = pod.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === "ScheduleAnyway");
  const keptAnyway = new Set(take(anyway));
  const heaviest = nodePrefs[0]?.preference.matchExpressions;
  const required =
    heaviest === undefined
      ? pod.requiredNodeAffinity
      : pod.requiredNodeAffinity.length === 0
        ? [{ matchExpressions: heaviest }]
        : pod.requiredNodeAffinity.map((t) => ({ matchExpressions: [...t.matchExpressions, ...heaviest] }));
  const derived: Pod = {
    ...pod,
    requiredNodeAffinity: required,
    podAffinity: { required: [...pod.podAffinity.required, ...affinity], preferred: [] },
    podAntiAffinity: { required: [...pod.podAntiAffinity.required, ...anti], preferred: [] },
    topologySpreadConstraints: pod.topologySpreadConstraints
      .filter((c) => c.whenUnsatisfiable === "DoNotSchedule" || keptAnyway.has(c))
      .map((c) =>
        c.whenUnsatisfiable === "DoNotSchedule" ? c : { ...c, whenUnsatisfiable: "DoNotSchedule" },
      ),
  };
  originals.set(derived, pod);
  return derived;
}
