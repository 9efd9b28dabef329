import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  PolicyV1Api,
  Watch,
} from "@kubernetes/client-node";

/** A Kubernetes object as JSON (apiVersion and kind always set). */
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string } & Record<
    string,
    unknown
  >;
};

/** Options of `startInformers`. */
export interface InformerOptions {
  /** Called after every add, update and delete an informer sees. */
  onChange: (kind: string) => void;
  /** First delay after a failed list or watch; doubles up to `maxBackoffMs` (default 1000). */
  backoffMs?: number;
  /** Default 30 000. */
  maxBackoffMs?: number;
  log?: (message: string) => void;
}

/** The running informers: a cache of every watched kind. */
export interface Informers {
  /** True once every informer has listed at least once. */
  synced(): boolean;
  /**
   * Every cached object as plain JSON (the shape `loadManifests` reads). The objects are the cache's
   * own: callers must not change them.
   */
  snapshot(): KubeObject[];
  /** Cached objects of one kind (the cache's own, read only). */
  list(kind: string): KubeObject[];
  /** Pods bound to a node (from an index kept as events arrive, read only). */
  podsOn(node: string): KubeObject[];
  stop(): Promise<void>;
}

interface Watched {
  apiVersion: string;
  kind: string;
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
}

/**
 * List + watch informers (client-node's ListWatch) for Pods, Nodes, NodePools, NodeClaims, PDBs,
 * DaemonSets and EC2NodeClasses. A watch from a resourceVersion the server has compacted away (410
 * Gone) re-lists; a failed list or watch (server down, connection refused) is retried with
 * exponential backoff, resuming from the last resourceVersion seen.
 */
export async function startInformers(kc: KubeConfig, options: InformerOptions): Promise<Informers> {
  const core = kc.makeApiClient(CoreV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crd = (group: string, version: string, kind: string, plural: string): Watched => ({
    apiVersion: `${group}/${version}`,
    kind,
    path: `/apis/${group}/${version}/${plural}`,
    list: () => custom.listClusterCustomObject({ group, version, plural }),
  });
  const watched: Watched[] = [
    { apiVersion: "v1", kind: "Pod", path: "/api/v1/pods", list: () => core.listPodForAllNamespaces() },
    { apiVersion: "v1", kind: "Node", path: "/api/v1/nodes", list: () => core.listNode() },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      path: "/apis/policy/v1/poddisruptionbudgets",
      list: () => policy.listPodDisruptionBudgetForAllNamespaces(),
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      path: "/apis/apps/v1/daemonsets",
      list: () => apps.listDaemonSetForAllNamespaces(),
    },
    crd("karpenter.sh", "v1", "NodePool", "nodepools"),
    crd("karpenter.sh", "v1", "NodeClaim", "nodeclaims"),
    crd("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses"),
  ];
  const baseMs = options.backoffMs ?? 1000;
  const maxMs = options.maxBackoffMs ?? 30_000;
  const log = options.log ?? (() => {});
  let stopped = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  // Plain objects by kind and `namespace/name`, kept as events arrive (a pass reads them without copying).
  const caches = new Map<string, Map<string, KubeObject>>(watched.map((w) => [w.kind, new Map()]));
  const podsByNode = new Map<string, Map<string, KubeObject>>();
  const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
    `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  const nodeOf = (o: KubeObject | undefined) => (o?.spec as { nodeName?: string } | undefined)?.nodeName;
  const index = (
    kind: string,
    key: string,
    before: KubeObject | undefined,
    after: KubeObject | undefined,
  ) => {
    if (kind !== "Pod") return;
    const was = nodeOf(before);
    const is = nodeOf(after);
    if (was !== undefined && was !== is) podsByNode.get(was)?.delete(key);
    if (is !== undefined && after !== undefined) {
      let pods = podsByNode.get(is);
      if (pods === undefined) podsByNode.set(is, (pods = new Map()));
      pods.set(key, after);
    }
    if (was !== undefined && podsByNode.get(was)?.size === 0) podsByNode.delete(was);
  };

  const running = watched.map((w) => {
    let listed = false;
    let failures = 0;
    const cache = caches.get(w.kind) as Map<string, KubeObject>;
    const informer = new ListWatch<KubernetesObject>(
      w.path,
      new Watch(kc),
      async () => {
        const list = await w.list();
        listed = true;
        failures = 0;
        return list;
      },
      false,
      undefined,
      undefined,
      // client-node's own reconnect delay after a watch closes (1 s doubling), scaled to ours.
      { delayFn: (ms) => sleep(Math.min((ms * baseMs) / 1000, maxMs)) },
    );
    const store = (o: KubernetesObject) => {
      const key = keyOf(o);
      const next = { ...plain(o), apiVersion: w.apiVersion, kind: w.kind } as KubeObject;
      index(w.kind, key, cache.get(key), next);
      cache.set(key, next);
      failures = 0;
      options.onChange(w.kind);
    };
    informer.on("add", store);
    informer.on("update", store);
    informer.on("delete", (o: KubernetesObject) => {
      const key = keyOf(o);
      index(w.kind, key, cache.get(key), undefined);
      cache.delete(key);
      failures = 0;
      options.onChange(w.kind);
    });
    informer.on("error", (err: unknown) => {
      if (stopped) return;
      const delay = Math.min(baseMs * 2 ** failures, maxMs);
      failures += 1;
      log(`${w.kind} informer: ${describe(err)}; retrying in ${delay} ms`);
      void sleep(delay).then(() => (stopped ? undefined : informer.start()));
    });
    return {
      w,
      informer,
      get listed() {
        return listed;
      },
    };
  });
  await Promise.all(running.map((r) => r.informer.start()));

  return {
    synced: () => running.every((r) => r.listed),
    snapshot: () => [...caches.values()].flatMap((cache) => [...cache.values()]),
    list: (kind) => [...(caches.get(kind)?.values() ?? [])],
    podsOn: (node) => [...(podsByNode.get(node)?.values() ?? [])],
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(running.map((r) => r.informer.stop()));
    },
  };
}

/**
 * Typed list results carry Date objects (class instances); watch events carry JSON. One shape for
 * both: a typed object is converted once, a JSON one is kept as it is.
 */
function plain(o: KubernetesObject): Record<string, unknown> {
  if (Object.getPrototypeOf(o) === Object.prototype && !hasDate(o)) return o as Record<string, unknown>;
  return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
}

function hasDate(o: KubernetesObject): boolean {
  const meta = o.metadata as Record<string, unknown> | undefined;
  return meta?.creationTimestamp instanceof Date || meta?.deletionTimestamp instanceof Date;
}

/** A short description of an API or network error. */
export function describe(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; cause?: { code?: unknown } };
    const status = e.code ?? e.statusCode;
    const cause = e.cause?.code;
    return [
      typeof status === "number" ? `HTTP ${status}` : undefined,
      typeof e.message === "string" ? e.message.split("\n")[0] : undefined,
      typeof cause === "string" ? cause : undefined,
    ]
      .filter((x) => x !== undefined)
      .join(": ");
  }
  return String(err);
}
