import { createHash } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { type RetryPolicy, statusOf, withRetry } from "./retry.ts";

/** Thrown by every write while this replica does not hold the Lease. */
export class NotLeaderError extends Error {
  constructor() {
    super("not the leader: writes are disabled");
    this.name = "NotLeaderError";
  }
}

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

const nodeClaims = { group: "karpenter.sh", version: "v1", plural: "nodeclaims" };
type Json = Record<string, unknown>;

/** Karpenter's finalizer on NodeClaims: the instance is terminated before the claim may go. */
export const TERMINATION_FINALIZER = "karpenter.sh/termination";

/**
 * Every write the controller makes, each checked against `canWrite` (the Lease) immediately before
 * the request goes out. Replaces use the resourceVersion read just before (409 -> re-read and retry).
 * A request that fails with 429, a 5xx or a network error is retried with exponential backoff and
 * jitter (`retry`), so a throttled write costs a moment, not a pass.
 */
export class ClusterWriter {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly canWrite: () => boolean;
  private readonly component: string;
  private readonly instance: string;
  private readonly now: () => number;
  private readonly retry: RetryPolicy;
  private readonly onRetry: (what: string) => void;
  /** Names of Events already written by this process (skips a request that would only get 409). */
  private readonly sent = new Set<string>();

  constructor(
    kc: KubeConfig,
    options: {
      canWrite: () => boolean;
      component: string;
      instance: string;
      now: () => number;
      retry?: RetryPolicy;
      /** Called before each retry (a metric). */
      onRetry?: (what: string) => void;
    },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.canWrite = options.canWrite;
    this.component = options.component;
    this.instance = options.instance;
    this.now = options.now;
    this.retry = options.retry ?? {};
    this.onRetry = options.onRetry ?? (() => {});
  }

  private guard(): void {
    if (!this.canWrite()) throw new NotLeaderError();
  }

  /** One request, the Lease checked before every try, retried while the error is transient. */
  private send<T>(what: string, call: () => Promise<T>, policy: RetryPolicy = this.retry): Promise<T> {
    return withRetry(
      () => {
        this.guard();
        return call();
      },
      policy,
      { onRetry: () => this.onRetry(what) },
    );
  }

  /** A read, retried while the error is transient (no Lease check: reads are not writes). */
  private read<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withRetry(call, this.retry, { onRetry: () => this.onRetry(what) });
  }

  /** Throws `NotLeaderError` unless writes are allowed now (cloud calls check it too). */
  async assertCanWrite(): Promise<void> {
    this.guard();
  }

  /** Read-modify-write with optimistic concurrency, retried on 409. */
  private async update<T extends Json>(
    read: () => Promise<T>,
    change: (current: T) => T | undefined,
    write: (next: T) => Promise<unknown>,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.read("get", read);
      const next = change(structuredClone(current));
      if (next === undefined) return false;
      try {
        await this.send("update", () => write(next));
        return true;
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= 4) throw err;
      }
    }
  }

  /**
   * A Normal (or Warning) Event. Its name is derived from object, reason and message, so the same
   * event is written once even across restarts (409 AlreadyExists is success). Returns false when this
   * process had already written it (no request made).
   */
  async event(
    object: InvolvedObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ): Promise<boolean> {
    this.guard();
    const namespace = object.namespace ?? "default";
    const hash = createHash("sha256").update(
      `${object.kind}/${object.uid ?? object.name}/${reason}/${message}`,
    );
    const time = new Date(this.now());
    const name = `${object.name.slice(0, 200)}.${hash.digest("hex").slice(0, 16)}`;
    if (this.sent.has(`${namespace}/${name}`)) return false;
    if (this.sent.size > 50_000) this.sent.clear();
    try {
      await this.send(
        "event",
        () =>
          this.core.createNamespacedEvent({
            namespace,
            body: {
              metadata: { name, namespace },
              involvedObject: { ...object },
              reason,
              message,
              type,
              source: { component: this.component },
              reportingComponent: this.component,
              reportingInstance: this.instance,
              firstTimestamp: time,
              lastTimestamp: time,
              count: 1,
            },
          }),
        // Events are best effort: one quick retry, then the publisher moves on.
        { ...this.retry, attempts: 2 },
      );
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    this.sent.add(`${namespace}/${name}`);
    return true;
  }

  /** Creates or replaces a ConfigMap's data; false when it already held exactly that data. */
  async configMap(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    try {
      await this.send("configmap", () =>
        this.core.createNamespacedConfigMap({
          namespace,
          body: {
            metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": this.component } },
            data,
          },
        }),
      );
      return true;
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    return this.update(
      () => this.core.readNamespacedConfigMap({ name, namespace }) as unknown as Promise<Json>,
      (cm) => (JSON.stringify(cm.data) === JSON.stringify(data) ? undefined : { ...cm, data }),
      (body) => this.core.replaceNamespacedConfigMap({ name, namespace, body }),
    );
  }

  /** Creates a NodeClaim: "created", or "exists" when one of that name is already there. */
  async createNodeClaim(manifest: Json): Promise<"created" | "exists"> {
    try {
      await this.send("nodeclaim", () =>
        this.custom.createClusterCustomObject({ ...nodeClaims, body: manifest }),
      );
      return "created";
    } catch (err) {
      if (statusOf(err) === 409) return "exists";
      throw err;
    }
  }

  /** Reads a NodeClaim from the API server (not the cache); undefined when it does not exist. */
  async readNodeClaim(name: string): Promise<Json | undefined> {
    try {
      return (await this.read("nodeclaim", () =>
        this.custom.getClusterCustomObject({ ...nodeClaims, name }),
      )) as Json;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Records a launched instance on a NodeClaim: placement labels and the provider's annotations, then
   * status (providerID, capacity).
   */
  async recordLaunch(
    name: string,
    labels: Record<string, string>,
    status: Json,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    const read = () => this.custom.getClusterCustomObject({ ...nodeClaims, name }) as Promise<Json>;
    await this.update(
      read,
      (claim) => {
        const meta = claim.metadata as Json;
        return {
          ...claim,
          metadata: {
            ...meta,
            labels: { ...((meta.labels as Json) ?? {}), ...labels },
            annotations: { ...((meta.annotations as Json) ?? {}), ...annotations },
          },
        };
      },
      (body) => this.custom.replaceClusterCustomObject({ ...nodeClaims, name, body }),
    );
    await this.update(
      read,
      (claim) => ({ ...claim, status: { ...((claim.status as Json) ?? {}), ...status } }),
      (body) => this.custom.replaceClusterCustomObjectStatus({ ...nodeClaims, name, body }),
    );
  }

  /**
   * Deletes a NodeClaim (absent is fine). With the termination finalizer on it, the claim only gets a
   * deletionTimestamp: the termination loop drains, terminates the instance, then lets it go.
   */
  async deleteNodeClaim(name: string): Promise<void> {
    try {
      await this.send("nodeclaim", () => this.custom.deleteClusterCustomObject({ ...nodeClaims, name }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /** Adds the finalizer to a NodeClaim not being deleted; false when it is gone or already has it. */
  async addNodeClaimFinalizer(name: string, finalizer: string): Promise<boolean> {
    return this.changeNodeClaim(name, (claim) => {
      const meta = claim.metadata as Json;
      const finalizers = (meta.finalizers as string[] | undefined) ?? [];
      if (finalizers.includes(finalizer) || meta.deletionTimestamp !== undefined) return undefined;
      return { ...claim, metadata: { ...meta, finalizers: [...finalizers, finalizer] } };
    });
  }

  /** Removes the finalizer (the apiserver then removes a claim being deleted); false when gone. */
  async removeNodeClaimFinalizer(name: string, finalizer: string): Promise<boolean> {
    return this.changeNodeClaim(name, (claim) => {
      const meta = claim.metadata as Json;
      const finalizers = (meta.finalizers as string[] | undefined) ?? [];
      if (!finalizers.includes(finalizer)) return undefined;
      return { ...claim, metadata: { ...meta, finalizers: finalizers.filter((f) => f !== finalizer) } };
    });
  }

  /** Sets annotations on a NodeClaim unless they are already set; false when it is gone. */
  async annotateNodeClaim(name: string, annotations: Record<string, string>): Promise<boolean> {
    return this.changeNodeClaim(name, (claim) => {
      const meta = claim.metadata as Json;
      const current = (meta.annotations as Record<string, string> | undefined) ?? {};
      if (Object.entries(annotations).every(([k, v]) => current[k] === v)) return undefined;
      return { ...claim, metadata: { ...meta, annotations: { ...current, ...annotations } } };
    });
  }

  private async changeNodeClaim(name: string, change: (claim: Json) => Json | undefined): Promise<boolean> {
    try {
      return await this.update(
        () => this.custom.getClusterCustomObject({ ...nodeClaims, name }) as Promise<Json>,
        change,
        (body) => this.custom.replaceClusterCustomObject({ ...nodeClaims, name, body }),
      );
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /**
   * Deletes a pod with a grace period (Karpenter's deletion of pods whose node's terminationGracePeriod
   * is running out); absent is fine.
   */
  async deletePod(namespace: string, name: string, gracePeriodSeconds: number): Promise<void> {
    try {
      await this.send("pod", () =>
        this.core.deleteNamespacedPod({
          name,
          namespace,
          gracePeriodSeconds: Math.max(0, Math.floor(gracePeriodSeconds)),
        }),
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /**
   * Adds a taint (and annotations) to a Node in one update unless it already has a taint with that
   * key and effect; false when the Node is gone.
   */
  async taintNode(
    name: string,
    taint: { key: string; value?: string; effect: string },
    annotations: Record<string, string> = {},
  ): Promise<boolean> {
    return this.changeNode(name, (node) => {
      const spec = (node.spec as Json | undefined) ?? {};
      const taints = (spec.taints as { key: string; effect: string }[] | undefined) ?? [];
      if (taints.some((t) => t.key === taint.key && t.effect === taint.effect)) return undefined;
      const meta = node.metadata as Json;
      return {
        ...node,
        metadata: { ...meta, annotations: { ...((meta.annotations as Json) ?? {}), ...annotations } },
        spec: { ...spec, taints: [...taints, taint] },
      };
    });
  }

  /** Removes every taint with `key` and the annotation(s) from a Node; false when the Node is gone. */
  async untaintNode(name: string, key: string, annotation: string | readonly string[]): Promise<boolean> {
    const drop = new Set(typeof annotation === "string" ? [annotation] : annotation);
    return this.changeNode(name, (node) => {
      const spec = (node.spec as Json | undefined) ?? {};
      const taints = (spec.taints as { key: string }[] | undefined) ?? [];
      const meta = node.metadata as Json;
      const annotations = Object.fromEntries(
        Object.entries((meta.annotations as Record<string, string>) ?? {}).filter(([k]) => !drop.has(k)),
      );
      return {
        ...node,
        metadata: { ...meta, annotations },
        spec: { ...spec, taints: taints.filter((t) => t.key !== key) },
      };
    });
  }

  private async changeNode(name: string, change: (node: Json) => Json | undefined): Promise<boolean> {
    try {
      await this.update(
        () => this.core.readNode({ name }) as unknown as Promise<Json>,
        change,
        (body) => this.core.replaceNode({ name, body }),
      );
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** Evicts a pod through the Eviction API: evicted, blocked (429: a PDB), or gone (404). */
  async evict(namespace: string, name: string): Promise<"evicted" | "blocked" | "gone"> {
    try {
      // A 429 here is the PDB's answer, not throttling: the drain backs off per pod, so no retry.
      await this.send(
        "eviction",
        () =>
          this.core.createNamespacedPodEviction({
            name,
            namespace,
            body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
          }),
        { ...this.retry, attempts: 1 },
      );
      return "evicted";
    } catch (err) {
      const code = statusOf(err);
      if (code === 429) return "blocked";
      if (code === 404) return "gone";
      throw err;
    }
  }

  /** Deletes a Node object (absent is fine). */
  async deleteNode(name: string): Promise<void> {
    try {
      await this.send("node", () => this.core.deleteNode({ name }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
