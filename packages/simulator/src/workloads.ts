import type { LabelSelector, Pod } from "@nodeplan/core";
import type { SimPod } from "./cluster.ts";
import type { Distribution } from "./rng.ts";

/**
 * Deployments and StatefulSets as their controllers run them (kube-controller-manager's deployment,
 * replicaset and statefulset controllers), reduced to what moves pods: replicas, revisions and the
 * rollout strategy. Each reconcile returns the pods to create and to delete; the simulation does it.
 */

/** One pod template of a workload (Kubernetes: a ReplicaSet, or a StatefulSet's controller revision). */
export interface Revision {
  hash: string;
  /** The model pod every replica of this revision copies (its scheduling fields are shared). */
  template: Pod;
}

/** An int-or-percent as Deployments write maxSurge and maxUnavailable. */
export type IntOrPercent = number | string;

/** A workload the simulation runs. */
export interface App {
  kind: "Deployment" | "StatefulSet";
  namespace: string;
  name: string;
  /** `namespace/name`. */
  key: string;
  selector: LabelSelector;
  /** spec.replicas as it is now (HPA, kubectl scale and ArgoCD write it). */
  replicas: number;
  current: Revision;
  /** Every revision pods exist of. */
  revisions: Map<string, Revision>;
  /** Deployments: the rollout strategy. */
  strategy: { type: "RollingUpdate" | "Recreate"; maxSurge: IntOrPercent; maxUnavailable: IntOrPercent };
  /** StatefulSets: pod management and the rolling update's partition. */
  podManagementPolicy: "OrderedReady" | "Parallel";
  partition: number;
  minReadySeconds: number;
  terminationGraceSeconds: number;
  timing: { start: Distribution; ready: Distribution; shutdown: Distribution };
  /** Pods not yet gone, in creation order. */
  pods: Set<SimPod>;
  /** Next pod name suffix (Deployments) . */
  nextIndex: number;
  /** The workload object as written (after patches): commits re-read its template from it. */
  raw: Record<string, unknown>;
}

/** What a reconcile wants done. */
export interface ReconcileResult {
  create: { revision: Revision; ordinal?: number }[];
  delete: SimPod[];
}

/** Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaled(value: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const percent = Number.parseInt(value, 10);
  const x = (percent * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** A pod counts as available once Ready for minReadySeconds. */
export function isAvailable(p: SimPod, app: App, nowMs: number): boolean {
  return p.state === "ready" && p.readyMs !== undefined && nowMs - p.readyMs >= app.minReadySeconds * 1000;
}

/** Pods the controller counts: not terminating, not gone. */
function active(app: App): SimPod[] {
  return [...app.pods].filter((p) => p.state !== "terminating" && p.state !== "gone");
}

/**
 * The order in which a ReplicaSet deletes pods when it scales down (controller.ActivePods, most
 * deletable first): unbound before bound, not started before started, not ready before ready, on a node
 * crowded with the workload's pods before elsewhere, ready more recently before ready longer, newer
 * before older.
 */
export function deletionOrder(pods: readonly SimPod[]): SimPod[] {
  const perNode = new Map<string, number>();
  for (const p of pods)
    if (p.node !== undefined) perNode.set(p.node.name, (perNode.get(p.node.name) ?? 0) + 1);
  const rank = (p: SimPod) =>
    p.state === "pending" ? 0 : p.state === "starting" ? 1 : p.state === "running" ? 2 : 3;
  return [...pods].sort(
    (a, b) =>
      Number(a.node !== undefined) - Number(b.node !== undefined) ||
      rank(a) - rank(b) ||
      (b.node === undefined ? 0 : (perNode.get(b.node.name) ?? 0)) -
        (a.node === undefined ? 0 : (perNode.get(a.node.name) ?? 0)) ||
      (b.readyMs ?? 0) - (a.readyMs ?? 0) ||
      b.createdMs - a.createdMs ||
      b.seq - a.seq,
  );
}

/**
 * The Deployment controller's step (pkg/controller/deployment: rolling.go, recreate.go, sync.go).
 * Rolling update: the new revision scales up while all pods stay within replicas + maxSurge (rounded
 * up); old revisions scale down while available pods stay at least replicas - maxUnavailable (rounded
 * down; both 0 means maxUnavailable 1), unhealthy old pods first. Recreate: every old pod is deleted and
 * gone before the new revision starts. Without a rollout in progress, the ReplicaSet scales to replicas.
 */
export function reconcileDeployment(app: App, nowMs: number): ReconcileResult {
  const out: ReconcileResult = { create: [], delete: [] };
  const live = active(app);
  const current = live.filter((p) => p.revision === app.current.hash);
  const old = live.filter((p) => p.revision !== app.current.hash);
  const desired = app.replicas;
  if (app.strategy.type === "Recreate") {
    if (old.length > 0) {
      out.delete.push(...old);
      return out;
    }
    // Old pods still terminating block the new revision.
    if ([...app.pods].some((p) => p.revision !== app.current.hash && p.state === "terminating")) return out;
    return scaleTo(app, current, desired, out);
  }
  if (old.length === 0) return scaleTo(app, current, desired, out);
  let surge = scaled(app.strategy.maxSurge, desired, true);
  let unavailable = scaled(app.strategy.maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  if (desired === 0) surge = 0;
  // Scale the new revision up within maxSurge.
  const room = desired + surge - live.length;
  const newTarget = Math.min(desired, current.length + Math.max(0, room));
  for (let i = current.length; i < newTarget; i++) out.create.push({ revision: app.current });
  // Scale old revisions down within maxUnavailable: unhealthy ones first, then available ones.
  const minAvailable = desired - unavailable;
  const newUnavailable = current.filter((p) => !isAvailable(p, app, nowMs)).length;
  let budget = Math.max(0, live.length - minAvailable - newUnavailable);
  const ordered = deletionOrder(old);
  const unhealthy = ordered.filter((p) => !isAvailable(p, app, nowMs));
  for (const p of unhealthy) {
    if (budget <= 0) break;
    out.delete.push(p);
    budget--;
  }
  const available = live.filter((p) => isAvailable(p, app, nowMs) && !out.delete.includes(p)).length;
  let canRemove = Math.max(0, available - minAvailable);
  for (const p of ordered) {
    if (canRemove <= 0) break;
    if (out.delete.includes(p) || !isAvailable(p, app, nowMs)) continue;
    out.delete.push(p);
    canRemove--;
  }
  // Replicas lowered below what is left during the rollout: old pods go first, as proportional scaling would.
  const left = live.length + out.create.length - out.delete.length;
  if (left > desired + surge) {
    let extra = left - (desired + surge);
    for (const p of deletionOrder([...old, ...current])) {
      if (extra <= 0) break;
      if (out.delete.includes(p)) continue;
      out.delete.push(p);
      extra--;
    }
  }
  return out;
}

function scaleTo(app: App, pods: SimPod[], desired: number, out: ReconcileResult): ReconcileResult {
  for (let i = pods.length; i < desired; i++) out.create.push({ revision: app.current });
  if (pods.length > desired) out.delete.push(...deletionOrder(pods).slice(0, pods.length - desired));
  return out;
}

/**
 * The StatefulSet controller's step (pkg/controller/statefulset/stateful_set_control.go). Pods are
 * `<name>-<ordinal>`; a terminating pod's ordinal is recreated only once it is gone. OrderedReady
 * creates the lowest missing ordinal only when every lower one is Ready, and deletes the highest extra
 * one at a time; Parallel does all at once. A rolling update (once all pods are Ready) deletes the
 * highest ordinal at or above the partition still on an old revision, one at a time; it comes back on
 * the current revision.
 */
export function reconcileStatefulSet(app: App): ReconcileResult {
  const out: ReconcileResult = { create: [], delete: [] };
  const byOrdinal = new Map<number, SimPod>();
  for (const p of app.pods) if (p.state !== "gone" && p.ordinal !== undefined) byOrdinal.set(p.ordinal, p);
  const ordered = app.podManagementPolicy === "OrderedReady";
  for (let i = 0; i < app.replicas; i++) {
    const p = byOrdinal.get(i);
    if (p === undefined) {
      const revision = i < app.partition ? oldest(app) : app.current;
      out.create.push({ revision, ordinal: i });
      if (ordered) return out;
      continue;
    }
    if (ordered && p.state !== "ready") return out;
  }
  const extra = [...byOrdinal.entries()].filter(([i]) => i >= app.replicas).sort((a, b) => b[0] - a[0]);
  for (const [, p] of extra) {
    if (p.state === "terminating") {
      if (ordered) return out;
      continue;
    }
    out.delete.push(p);
    if (ordered) return out;
  }
  if (extra.length > 0) return out;
  const allReady = [...byOrdinal.values()].every((p) => p.state === "ready");
  if (!allReady) return out;
  for (let i = app.replicas - 1; i >= app.partition; i--) {
    const p = byOrdinal.get(i);
    if (p !== undefined && p.revision !== app.current.hash) {
      out.delete.push(p);
      return out;
    }
  }
  return out;
}

function oldest(app: App): Revision {
  for (const r of app.revisions.values()) if (r.hash !== app.current.hash) return r;
  return app.current;
}
