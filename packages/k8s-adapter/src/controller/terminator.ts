import type { Launcher } from "@nodeplan/core";
import { describe, type KubeObject } from "./informers.ts";
import {
  DISRUPTED_TAINT_KEY,
  drainStep,
  livenessTimeout,
  terminationAnnotation,
  terminationTime,
} from "./lifecycle.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { type ClusterWriter, NotLeaderError, TERMINATION_FINALIZER } from "./writer.ts";

/** What the termination loop needs. */
export interface TerminatorOptions {
  writer: ClusterWriter;
  launcher: Launcher;
  metrics: ControllerMetrics;
  /** Owner label value of the claims this controller created (liveness applies to those). */
  owner: string;
  ownerLabel: string;
  now: () => number;
  log: (message: string) => void;
  /** Cached objects of a kind, and pods by node (the informers'). */
  list: (kind: string) => KubeObject[];
  podsOn: (node: string) => KubeObject[];
  /** A claim this process is launching right now (its providerID is not recorded yet). */
  isLaunching: (claim: string) => boolean;
  /** A node went or a claim was removed: solve again. */
  retrigger: () => void;
  /** Eviction retry after a refusal (429, a PDB): first delay, doubling up to the max (defaults 1 s, 30 s). */
  evictionBackoffMs?: number;
  maxEvictionBackoffMs?: number;
  registrationTimeoutMs: number;
  launchTimeoutMs: number;
}

const metaOf = (o: KubeObject) =>
  o.metadata as KubeObject["metadata"] & {
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
const podId = (pod: KubeObject) =>
  `${pod.metadata.namespace ?? ""}/${pod.metadata.name}/${pod.metadata.uid ?? ""}`;

/**
 * Karpenter's NodeClaim finalization and liveness, as a loop over the cache (K:
 * pkg/controllers/node/termination, pkg/controllers/nodeclaim/lifecycle). Every NodeClaim of a
 * managed NodePool carries the termination finalizer; a claim being deleted (by a disruption, an
 * expiry, a liveness timeout, or `kubectl delete nodeclaim`) is finalized step by step: its
 * termination time annotated, its node tainted and drained (bounded by terminationGracePeriod), the
 * instance terminated, the Node deleted, and only then the finalizer removed. A claim of ours whose
 * node does not register (or launch) in time is deleted the same way.
 */
export class Terminator {
  private readonly o: TerminatorOptions;
  /** Pods whose eviction was refused: attempts so far and when to try again. */
  private readonly refused = new Map<string, { attempts: number; nextAt: number }>();
  /** Pods evicted or deleted by this process (never evicted again; deletion not repeated for a while). */
  private readonly handled = new Map<string, number>();
  /** Claims finalized by this process (by uid): the cache may show them a moment longer. */
  private readonly finished = new Map<string, number>();
  private running: Promise<void> | undefined;
  private again = false;

  constructor(options: TerminatorOptions) {
    this.o = options;
  }

  /** Runs a round now, or once more after the one in progress. */
  trigger(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when no round is running. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async round(): Promise<void> {
    const { o } = this;
    const pools = new Set(o.list("NodePool").map((p) => p.metadata.name));
    const nodes = new NodeIndex(o.list("Node"));
    for (const claim of o.list("NodeClaim")) {
      const meta = metaOf(claim);
      const pool = meta.labels?.["karpenter.sh/nodepool"];
      if (pool === undefined || !pools.has(pool)) continue;
      try {
        const node = nodes.of(claim);
        if (meta.deletionTimestamp === undefined) await this.live(claim, node);
        else if (
          (meta.finalizers ?? []).includes(TERMINATION_FINALIZER) &&
          !o.isLaunching(meta.name) &&
          !this.finished.has(meta.uid ?? meta.name)
        )
          await this.finalize(claim, node);
      } catch (err) {
        if (err instanceof NotLeaderError) return;
        o.metrics.actionErrors.inc({ action: "terminate" });
        o.log(`NodeClaim ${meta.name}: ${describe(err)}; trying again`);
      }
    }
    this.forget();
  }

  /** A claim in service: carries the finalizer; one of ours that never registered is deleted. */
  private async live(claim: KubeObject, node: KubeObject | undefined): Promise<void> {
    const { o } = this;
    const meta = metaOf(claim);
    if (!(meta.finalizers ?? []).includes(TERMINATION_FINALIZER))
      await o.writer.addNodeClaimFinalizer(meta.name, TERMINATION_FINALIZER);
    if (meta.labels?.[o.ownerLabel] !== o.owner || o.isLaunching(meta.name)) return;
    const timeout = livenessTimeout(claim, node !== undefined, o.now(), {
      registrationMs: o.registrationTimeoutMs,
      launchMs: o.launchTimeoutMs,
    });
    if (timeout === undefined) return;
    o.log(
      `NodeClaim ${meta.name}: ${timeout === "registration_timeout" ? "its node did not register" : "it did not launch"} in time; deleting it`,
    );
    o.metrics.registrationTimeouts.inc({
      nodePool: meta.labels?.["karpenter.sh/nodepool"] ?? "",
      reason: timeout,
    });
    await o.writer.deleteNodeClaim(meta.name);
  }

  /** One step of finalizing a claim being deleted; removes the finalizer once the instance is gone. */
  private async finalize(claim: KubeObject, node: KubeObject | undefined): Promise<void> {
    const { o } = this;
    const meta = metaOf(claim);
    const annotation = terminationAnnotation(claim);
    if (annotation !== undefined) await o.writer.annotateNodeClaim(meta.name, annotation);
    const terminationAt = terminationTime(claim);
    if (node !== undefined) {
      const taints = ((node.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).map(
        (t) => t.key,
      );
      if (!taints.includes(DISRUPTED_TAINT_KEY))
        await o.writer.taintNode(node.metadata.name, { key: DISRUPTED_TAINT_KEY, effect: "NoSchedule" });
      if (!(await this.drain(node.metadata.name, terminationAt))) return;
    }
    const providerID =
      (claim.status as { providerID?: string } | undefined)?.providerID ??
      (node?.spec as { providerID?: string } | undefined)?.providerID;
    if (providerID !== undefined && providerID !== "") {
      await o.writer.assertCanWrite();
      await o.launcher.delete({
        name: meta.name,
        providerID,
        labels: {
          ...(meta.labels ?? {}),
          ...((node?.metadata as { labels?: Record<string, string> })?.labels ?? {}),
        },
      });
    }
    if (node !== undefined) await o.writer.deleteNode(node.metadata.name);
    await o.writer.removeNodeClaimFinalizer(meta.name, TERMINATION_FINALIZER);
    this.finished.set(meta.uid ?? meta.name, o.now());
    o.metrics.terminations.inc({ nodePool: meta.labels?.["karpenter.sh/nodepool"] ?? "" });
    o.log(`terminated NodeClaim ${meta.name}${providerID === undefined ? "" : ` (${providerID})`}`);
    o.retrigger();
  }

  /** One drain step on the node; true once nothing is left to wait for. */
  private async drain(node: string, terminationAt: number | undefined): Promise<boolean> {
    const { o } = this;
    const now = o.now();
    const base = o.evictionBackoffMs ?? 1000;
    const max = o.maxEvictionBackoffMs ?? 30_000;
    const step = drainStep(o.podsOn(node), now, terminationAt, (pod) => {
      if (this.handled.has(podId(pod))) return Number.POSITIVE_INFINITY;
      return this.refused.get(podId(pod))?.nextAt ?? 0;
    });
    for (const { pod, graceSeconds } of step.delete) {
      const id = podId(pod);
      const at = this.handled.get(id);
      // A delete already sent (the cache has not shown the deletionTimestamp yet): once a second.
      if (at !== undefined && now - at < 1000 && graceSeconds > 0) continue;
      await o.writer.deletePod(pod.metadata.namespace ?? "default", pod.metadata.name, graceSeconds);
      this.handled.set(id, now);
      o.metrics.podDeletions.inc();
      o.log(
        `deleted pod ${pod.metadata.namespace}/${pod.metadata.name} on ${node} (grace ${graceSeconds} s): the node's terminationGracePeriod is running out`,
      );
    }
    for (const pod of step.evict) {
      const id = podId(pod);
      const result = await o.writer.evict(pod.metadata.namespace ?? "default", pod.metadata.name);
      o.metrics.evictions.inc({ result });
      if (result === "blocked") {
        const attempts = (this.refused.get(id)?.attempts ?? 0) + 1;
        this.refused.set(id, { attempts, nextAt: now + Math.min(base * 2 ** (attempts - 1), max) });
      } else {
        this.refused.delete(id);
        this.handled.set(id, now);
      }
    }
    return step.drained;
  }

  /** Drops memory of pods and claims that are gone. */
  private forget(): void {
    for (const [id, at] of this.finished) if (this.o.now() - at > 60_000) this.finished.delete(id);
    if (this.handled.size + this.refused.size < 10_000) return;
    const present = new Set(this.o.list("Pod").map(podId));
    for (const id of this.handled.keys()) if (!present.has(id)) this.handled.delete(id);
    for (const id of this.refused.keys()) if (!present.has(id)) this.refused.delete(id);
  }
}

/** Nodes by providerID, name and the NodeClaim they name (owner reference or label). */
class NodeIndex {
  private readonly byProvider = new Map<string, KubeObject>();
  private readonly byName = new Map<string, KubeObject>();
  private readonly byClaim = new Map<string, KubeObject>();
  constructor(nodes: readonly KubeObject[]) {
    for (const n of nodes) {
      const providerID = (n.spec as { providerID?: string } | undefined)?.providerID;
      if (providerID) this.byProvider.set(providerID, n);
      this.byName.set(n.metadata.name, n);
      const meta = metaOf(n);
      const claim =
        (meta.ownerReferences ?? []).find((r) => r.kind === "NodeClaim")?.name ??
        meta.labels?.["karpenter.sh/nodeclaim"];
      if (claim !== undefined) this.byClaim.set(claim, n);
    }
  }
  /** The Node of a NodeClaim: same providerID, else the claim's status.nodeName, else the Node's owner or label. */
  of(claim: KubeObject): KubeObject | undefined {
    const status = (claim.status ?? {}) as { providerID?: string; nodeName?: string };
    return (
      (status.providerID ? this.byProvider.get(status.providerID) : undefined) ??
      (status.nodeName ? this.byName.get(status.nodeName) : undefined) ??
      this.byClaim.get(claim.metadata.name)
    );
  }
}
