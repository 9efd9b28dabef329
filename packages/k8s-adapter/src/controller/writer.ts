import { createHash } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";

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
const statusOf = (err: unknown) => (err as { code?: unknown }).code;
type Json = Record<string, unknown>;

/**
 * Every write the controller makes, each checked against `canWrite` (the Lease) immediately before
 * the request goes out. Replaces use the resourceVersion read just before (409 -> re-read and retry).
 */
export class ClusterWriter {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly canWrite: () => boolean;
  private readonly component: string;
  private readonly instance: string;
  private readonly now: () => number;
  /** Names of Events already written by this process (skips a request that would only get 409). */
  private readonly sent = new Set<string>();

  constructor(
    kc: KubeConfig,
    options: { canWrite: () => boolean; component: string; instance: string; now: () => number },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.canWrite = options.canWrite;
    this.component = options.component;
    this.instance = options.instance;
    this.now = options.now;
  }

  private guard(): void {
    if (!this.canWrite()) throw new NotLeaderError();
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
      const current = await read();
      const next = change(structuredClone(current));
      if (next === undefined) return false;
      this.guard();
      try {
        await write(next);
        return true;
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= 4) throw err;
      }
    }
  }

  /**
   * A Normal (or Warning) Event. Its name is derived from object, reason and message, so the same
   * event is written once even across restarts (409 AlreadyExists is success).
   */
  async event(
    object: InvolvedObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ) {
    this.guard();
    const namespace = object.namespace ?? "default";
    const hash = createHash("sha256").update(
      `${object.kind}/${object.uid ?? object.name}/${reason}/${message}`,
    );
    const time = new Date(this.now());
    const name = `${object.name.slice(0, 200)}.${hash.digest("hex").slice(0, 16)}`;
    if (this.sent.has(`${namespace}/${name}`)) return;
    if (this.sent.size > 50_000) this.sent.clear();
    try {
      await this.core.createNamespacedEvent({
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
      });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    this.sent.add(`${namespace}/${name}`);
  }

  /** Creates or replaces a ConfigMap's data; false when it already held exactly that data. */
  async configMap(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    this.guard();
    try {
      await this.core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": this.component } },
          data,
        },
      });
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
    this.guard();
    try {
      await this.custom.createClusterCustomObject({ ...nodeClaims, body: manifest });
      return "created";
    } catch (err) {
      if (statusOf(err) === 409) return "exists";
      throw err;
    }
  }

  /** Reads a NodeClaim from the API server (not the cache); undefined when it does not exist. */
  async readNodeClaim(name: string): Promise<Json | undefined> {
    try {
      return (await this.custom.getClusterCustomObject({ ...nodeClaims, name })) as Json;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Records a launched instance on a NodeClaim: placement labels, then status (providerID, capacity). */
  async recordLaunch(name: string, labels: Record<string, string>, status: Json): Promise<void> {
    const read = () => this.custom.getClusterCustomObject({ ...nodeClaims, name }) as Promise<Json>;
    await this.update(
      read,
      (claim) => {
        const meta = claim.metadata as Json;
        return { ...claim, metadata: { ...meta, labels: { ...((meta.labels as Json) ?? {}), ...labels } } };
      },
      (body) => this.custom.replaceClusterCustomObject({ ...nodeClaims, name, body }),
    );
    await this.update(
      read,
      (claim) => ({ ...claim, status: { ...((claim.status as Json) ?? {}), ...status } }),
      (body) => this.custom.replaceClusterCustomObjectStatus({ ...nodeClaims, name, body }),
    );
  }

  /** Deletes a NodeClaim (absent is fine). */
  async deleteNodeClaim(name: string): Promise<void> {
    this.guard();
    try {
      await this.custom.deleteClusterCustomObject({ ...nodeClaims, name });
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

  /** Removes every taint with `key` and the annotation from a Node; false when the Node is gone. */
  async untaintNode(name: string, key: string, annotation: string): Promise<boolean> {
    return this.changeNode(name, (node) => {
      const spec = (node.spec as Json | undefined) ?? {};
      const taints = (spec.taints as { key: string }[] | undefined) ?? [];
      const meta = node.metadata as Json;
      const { [annotation]: _dropped, ...annotations } = (meta.annotations as Record<string, string>) ?? {};
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
    this.guard();
    try {
      await this.core.createNamespacedPodEviction({
        name,
        namespace,
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
      });
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
    this.guard();
    try {
      await this.core.deleteNode({ name });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
