import type { Node, NodePool, Pod, Taint, Toleration } from "../model.ts";
import { toleratesAny } from "../taints.ts";

/**
 * Karpenter's preference handling (scheduling/preferences.go): with `preferencePolicy: Respect` a pod
 * is first scheduled as if its preferences were required (preferred pod affinity and anti-affinity
 * terms, the heaviest preferred node-affinity term, ScheduleAnyway spread as DoNotSchedule); each
 * failure relaxes one step, in this order: the heaviest preferred pod-affinity term, the heaviest
 * preferred anti-affinity term, the heaviest preferred node-affinity term (the next heaviest is then
 * tried as required), one ScheduleAnyway constraint. `Ignore` drops preferences from the start.
 * ORed required node-affinity terms need no relaxation step: every term is an alternative already.
 *
 * PreferNoSchedule taints repel like any taint while simulating (Karpenter's Taints.ToleratesPod); when
 * some NodePool template carries one (Karpenter's NewScheduler), one more step follows the others and
 * adds the toleration `{operator: Exists, effect: PreferNoSchedule}`. It is a relaxation, not a
 * preference of the pod: under `Ignore` too it comes after the (no-op) preference steps, as
 * Karpenter's Relax runs its whole list whatever the policy.
 */

export type PreferencePolicy = "Respect" | "Ignore";

const byWeight = <T extends { weight: number }>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => b.weight - a.weight);

/** The toleration Karpenter's last relaxation step adds (preferences.go toleratePreferNoScheduleTaints). */
export const PREFER_NO_SCHEDULE_TOLERATION: Readonly<Toleration> = Object.freeze({
  operator: "Exists",
  effect: "PreferNoSchedule",
});

/**
 * The PreferNoSchedule taints the last relaxation step is about: none unless some NodePool template has
 * one (the step is off then, and such taints on existing nodes keep repelling); otherwise those of the
 * NodePools and of the existing nodes.
 */
export function preferNoScheduleTaints(nodePools: readonly NodePool[], nodes: readonly Node[]): Taint[] {
  const prefer = (t: Taint) => t.effect === "PreferNoSchedule";
  if (!nodePools.some((p) => p.template.taints.some(prefer))) return [];
  return [...nodePools.flatMap((p) => p.template.taints), ...nodes.flatMap((n) => n.taints)].filter(prefer);
}

/** Preference steps the pod has (the same under both policies; `Ignore` applies them all at once). */
function preferenceSteps(pod: Pod): number {
  return (
    pod.podAffinity.preferred.length +
    pod.podAntiAffinity.preferred.length +
    pod.preferredNodeAffinity.filter((p) => p.preference.matchExpressions.length > 0).length +
    pod.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === "ScheduleAnyway").length
  );
}

/** Does the toleration step change anything for this pod (a taint of `preferNoSchedule` it does not tolerate)? */
function toleratesLater(pod: Pod, preferNoSchedule: readonly Taint[]): boolean {
  return preferNoSchedule.some((t) => !toleratesAny(pod.tolerations, t));
}

/**
 * How many relaxation steps the pod has: its preferences, then the PreferNoSchedule toleration when
 * `preferNoSchedule` (from `preferNoScheduleTaints`) holds a taint it does not tolerate.
 */
export function relaxationSteps(pod: Pod, preferNoSchedule: readonly Taint[] = []): number {
  return preferenceSteps(pod) + (toleratesLater(pod, preferNoSchedule) ? 1 : 0);
}

/** The pod with the PreferNoSchedule toleration of the last relaxation step added. */
export function withPreferNoScheduleToleration(pod: Pod): Pod {
  return { ...pod, tolerations: [...pod.tolerations, { ...PREFER_NO_SCHEDULE_TOLERATION }] };
}

/**
 * The pod as scheduled after `level` relaxation steps (the pod itself when it has no preferences). A
 * caller that needs the pod as written for a derived one (topology's nodeAffinityPolicy) keeps it.
 */
export function withPreferences(
  pod: Pod,
  level: number,
  policy: PreferencePolicy,
  preferNoSchedule: readonly Taint[] = [],
): Pod {
  const steps = preferenceSteps(pod);
  if (level > steps && toleratesLater(pod, preferNoSchedule)) {
    return withPreferNoScheduleToleration(steps === 0 ? pod : withPreferences(pod, steps, policy));
  }
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
  return derived;
}
