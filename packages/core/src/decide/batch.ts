import { isProvisionable } from "../provisioning/input.ts";
import type { DecisionPod } from "./types.ts";

/** When provisioning should run: now, at `wakeAtMillis`, or not at all (nothing pending). */
export interface BatchVerdict {
  due: boolean;
  /** When the window closes (or the next retry comes), if not due now. */
  wakeAtMillis?: number;
  /** Pending pods that triggered the window (for the pass's event). */
  triggered: number;
}

/** The batch window's settings, in milliseconds. */
export interface BatchWindow {
  idleMillis: number;
  maxMillis: number;
  retryMillis: number;
}

/**
 * Karpenter's provisioning batcher (provisioning/batcher.go) as a function of the pods and the time:
 * a pending pod that appeared since the last provisioning pass is a trigger at its pending-since time;
 * the window opens at the first trigger and closes once no trigger came for `idle`, or `max` after it
 * opened. Pending pods the last pass already saw are triggers again `retry` after it (kube-scheduler
 * retries an unschedulable pod at most that late, and every retry reaches Karpenter), except those
 * nominated to a claim still in flight: they wait for it. `liveClaims` are the in-flight claims'
 * names (a nomination to anything else no longer holds back a retry).
 */
export function batchVerdict(
  pods: readonly DecisionPod[],
  nowMillis: number,
  lastProvisioningMillis: number | undefined,
  liveClaims: ReadonlySet<string>,
  window: BatchWindow,
): BatchVerdict {
  let opened = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  let next = Number.POSITIVE_INFINITY;
  let triggered = 0;
  for (const p of pods) {
    if (!isProvisionable(p)) continue;
    const since = Date.parse(p.pendingSince ?? p.creationTimestamp);
    let at: number;
    if (lastProvisioningMillis === undefined || since > lastProvisioningMillis) at = since;
    else if (p.nominatedNode !== undefined && liveClaims.has(p.nominatedNode)) continue;
    else at = lastProvisioningMillis + window.retryMillis;
    if (at > nowMillis) {
      if (at < next) next = at;
      continue;
    }
    triggered++;
    if (at < opened) opened = at;
    if (at > newest) newest = at;
  }
  if (triggered === 0)
    return next === Number.POSITIVE_INFINITY
      ? { due: false, triggered }
      : { due: false, wakeAtMillis: next, triggered };
  const closes = Math.min(newest + window.idleMillis, opened + window.maxMillis);
  return closes <= nowMillis ? { due: true, triggered } : { due: false, wakeAtMillis: closes, triggered };
}
