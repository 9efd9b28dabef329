import { type CloudInstance, parseDurationMillis } from "@nodeplan/core";
import type { KubeObject } from "./informers.ts";

/**
 * The NodeClaim lifecycle decisions, as pure functions of objects and `now` (the reconciler and the
 * termination loop carry them out): when a claim's terminationGracePeriod runs out, what a drain does
 * next, which claims time out before registering, which instances no claim names.
 * K: pkg/controllers/node/termination, pkg/controllers/nodeclaim/lifecycle/liveness.go,
 * A: pkg/controllers/nodeclaim/garbagecollection.
 */

/** Karpenter's annotation: when a deleted NodeClaim's terminationGracePeriod runs out (RFC 3339). */
export const TERMINATION_TIMESTAMP_ANNOTATION = "karpenter.sh/nodeclaim-termination-timestamp";
export const DO_NOT_DISRUPT_ANNOTATION = "karpenter.sh/do-not-disrupt";
export const DISRUPTED_TAINT_KEY = "karpenter.sh/disrupted";
/** Karpenter's liveness timeouts: a launched claim must register within 15 min, launch within 5. */
export const REGISTRATION_TIMEOUT_MS = 15 * 60_000;
export const LAUNCH_TIMEOUT_MS = 5 * 60_000;
/** Karpenter's instance garbage collection: every 2 min, instances older than 30 s. */
export const GC_INTERVAL_MS = 2 * 60_000;
export const GC_GRACE_MS = 30_000;
/** Kubernetes' default pod terminationGracePeriodSeconds. */
const DEFAULT_POD_GRACE_SECONDS = 30;
/** Karpenter's IsStuckTerminating: a pod still there a minute past its deletionTimestamp no longer blocks. */
const STUCK_TERMINATING_MS = 60_000;

type Meta = {
  name: string;
  namespace?: string;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; controller?: boolean }[];
};
const metaOf = (o: KubeObject) => o.metadata as Meta;
const timeOf = (v: unknown): number | undefined => {
  if (v instanceof Date) return v.getTime();
  const t = typeof v === "string" ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
};

/**
 * When a deleted NodeClaim's terminationGracePeriod runs out: its termination-timestamp annotation,
 * else deletionTimestamp + spec.terminationGracePeriod; undefined when it has none (drains then wait
 * for PDBs and do-not-disrupt pods as long as they take, as in Karpenter).
 */
export function terminationTime(claim: KubeObject): number | undefined {
  const meta = metaOf(claim);
  const annotated = timeOf(meta.annotations?.[TERMINATION_TIMESTAMP_ANNOTATION]);
  if (annotated !== undefined) return annotated;
  const deleted = timeOf(meta.deletionTimestamp);
  const grace = (claim.spec as { terminationGracePeriod?: string } | undefined)?.terminationGracePeriod;
  const millis = grace === undefined ? null : parseDurationMillis(grace);
  return deleted === undefined || millis === null || millis < 0 ? undefined : deleted + millis;
}

/** The termination-timestamp annotation a deleted claim should carry, if it does not yet. */
export function terminationAnnotation(claim: KubeObject): Record<string, string> | undefined {
  if (metaOf(claim).annotations?.[TERMINATION_TIMESTAMP_ANNOTATION] !== undefined) return undefined;
  const at = terminationTime(claim);
  return at === undefined
    ? undefined
    : { [TERMINATION_TIMESTAMP_ANNOTATION]: new Date(at).toISOString().replace(/\.\d+Z$/, "Z") };
}

const phaseOf = (pod: KubeObject) => (pod.status as { phase?: string } | undefined)?.phase;
const isTerminal = (pod: KubeObject) => phaseOf(pod) === "Succeeded" || phaseOf(pod) === "Failed";

/** Static (mirror) and DaemonSet pods: not evicted, never block a drain (the kubelet and the DaemonSet own them). */
function leftToTheNode(pod: KubeObject): boolean {
  const meta = metaOf(pod);
  if (meta.annotations?.["kubernetes.io/config.mirror"] !== undefined) return true;
  return (meta.ownerReferences ?? []).some(
    (r) => r.kind === "Node" || (r.kind === "DaemonSet" && r.controller === true),
  );
}

/** Does the pod tolerate karpenter.sh/disrupted:NoSchedule (then it stays until the node goes)? */
export function toleratesDisruptedTaint(pod: KubeObject): boolean {
  const tolerations =
    (pod.spec as { tolerations?: { key?: string; operator?: string; effect?: string }[] } | undefined)
      ?.tolerations ?? [];
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === "" || t.effect === "NoSchedule") &&
      (((t.key === undefined || t.key === "") && t.operator === "Exists") ||
        (t.key === DISRUPTED_TAINT_KEY &&
          (t.operator === "Exists" || t.operator === undefined || t.operator === "Equal"))),
  );
}

/** What a drain does next. */
export interface DrainStep {
  /** Pods to evict now: active, evictable, and their backoff after a refused eviction elapsed. */
  evict: KubeObject[];
  /** Pods to delete now, with the grace left (the node's terminationGracePeriod is running out). */
  delete: { pod: KubeObject; graceSeconds: number }[];
  /** Pods the node still waits for. */
  waiting: number;
  /** Nothing is left to wait for: every pod gone, or the grace period is over (what remains was deleted). */
  drained: boolean;
}

/**
 * One step of a drain (Karpenter's Terminator.Drain): evict pods that are active (not terminating:
 * a terminating pod is never evicted again), not do-not-disrupt and not tolerating the disrupted
 * taint; delete, with its grace clamped to what is left, each pod whose own grace would not end
 * before the node's termination time (do-not-disrupt and PDB-blocked pods included: honoured until
 * then); once that time has passed, delete whatever remains and call the drain done.
 * `nextEvictionAt(pod)` is when a pod whose eviction was refused may be tried again.
 */
export function drainStep(
  pods: readonly KubeObject[],
  nowMillis: number,
  terminationAt: number | undefined,
  nextEvictionAt: (pod: KubeObject) => number,
): DrainStep {
  const step: DrainStep = { evict: [], delete: [], waiting: 0, drained: false };
  const over = terminationAt !== undefined && nowMillis >= terminationAt;
  for (const pod of pods) {
    if (isTerminal(pod) || leftToTheNode(pod) || toleratesDisruptedTaint(pod)) continue;
    const meta = metaOf(pod);
    const deleting = timeOf(meta.deletionTimestamp);
    if (deleting !== undefined) {
      // Terminating: it leaves on its own; stuck a minute past its deadline, it no longer blocks.
      if (nowMillis - deleting > STUCK_TERMINATING_MS) continue;
      if (over && deleting > nowMillis) step.delete.push({ pod, graceSeconds: 0 });
      else if (!over) step.waiting += 1;
      continue;
    }
    if (terminationAt !== undefined) {
      const grace =
        (pod.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds ??
        DEFAULT_POD_GRACE_SECONDS;
      if (over || nowMillis >= terminationAt - grace * 1000) {
        step.delete.push({ pod, graceSeconds: Math.max(0, Math.floor((terminationAt - nowMillis) / 1000)) });
        if (!over) step.waiting += 1;
        continue;
      }
    }
    step.waiting += 1;
    if (meta.annotations?.[DO_NOT_DISRUPT_ANNOTATION] === "true") continue;
    if (nextEvictionAt(pod) <= nowMillis) step.evict.push(pod);
  }
  step.drained = step.waiting === 0;
  return step;
}

/** Why a claim of ours should be deleted before it ever served (Karpenter's liveness), if it should. */
export function livenessTimeout(
  claim: KubeObject,
  registered: boolean,
  nowMillis: number,
  timeouts: { registrationMs: number; launchMs: number },
): "registration_timeout" | "launch_timeout" | undefined {
  const meta = metaOf(claim);
  if (registered || meta.deletionTimestamp !== undefined) return undefined;
  const status = (claim.status ?? {}) as {
    providerID?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
  const created = timeOf(meta.creationTimestamp) ?? nowMillis;
  if (status.providerID !== undefined && status.providerID !== "") {
    const launched = status.conditions?.find((c) => c.type === "Launched" && c.status === "True");
    const since = timeOf(launched?.lastTransitionTime) ?? created;
    return nowMillis - since > timeouts.registrationMs ? "registration_timeout" : undefined;
  }
  return nowMillis - created > timeouts.launchMs ? "launch_timeout" : undefined;
}

/**
 * Instances of this cluster's NodePools that no NodeClaim names (by providerID or by the claim name
 * the instance was launched for), launched longer than `graceMs` ago: a launch in flight has no
 * providerID on its claim yet, but its claim exists.
 */
export function findOrphans(
  instances: readonly CloudInstance[],
  claims: readonly KubeObject[],
  nowMillis: number,
  graceMs: number,
): CloudInstance[] {
  const providerIDs = new Set<string>();
  const names = new Set<string>();
  for (const c of claims) {
    names.add(c.metadata.name);
    const id = (c.status as { providerID?: string } | undefined)?.providerID;
    if (id !== undefined && id !== "") providerIDs.add(id);
  }
  return instances
    .filter((i) => !providerIDs.has(i.providerID) && (i.nodeClaim === undefined || !names.has(i.nodeClaim)))
    .filter((i) => {
      const at = Date.parse(i.launchedAt);
      return Number.isNaN(at) || nowMillis - at > graceMs;
    })
    .sort((a, b) => (a.providerID < b.providerID ? -1 : a.providerID > b.providerID ? 1 : 0));
}
