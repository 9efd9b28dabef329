import http from "node:http";
import https from "node:https";
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
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
  /** Objects per list page (default 500): a large cluster is listed in pages, not one response. */
  pageSize?: number;
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
 * DaemonSets and EC2NodeClasses. Lists are read as plain JSON in pages (`limit`/`continue`), not
 * through client-node's typed deserializer: on a large cluster that took seconds of one event-loop
 * turn and kept a second copy of every object. A watch from a resourceVersion the server has
 * compacted away (410 Gone) re-lists; a failed list or watch (server down, connection refused) is
 * retried with exponential backoff, resuming from the last resourceVersion seen.
 */
export async function startInformers(kc: KubeConfig, options: InformerOptions): Promise<Informers> {
  const w = (apiVersion: string, kind: string, path: string): Watched => ({
    apiVersion,
    kind,
    path,
    list: () => listPages(kc, path, options.pageSize ?? 500),
  });
  const watched: Watched[] = [
    w("v1", "Pod", "/api/v1/pods"),
    w("v1", "Node", "/api/v1/nodes"),
    w("policy/v1", "PodDisruptionBudget", "/apis/policy/v1/poddisruptionbudgets"),
    w("apps/v1", "DaemonSet", "/apis/apps/v1/daemonsets"),
    w("karpenter.sh/v1", "NodePool", "/apis/karpenter.sh/v1/nodepools"),
    w("karpenter.sh/v1", "NodeClaim", "/apis/karpenter.sh/v1/nodeclaims"),
    w("karpenter.k8s.aws/v1", "EC2NodeClass", "/apis/karpenter.k8s.aws/v1/ec2nodeclasses"),
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

/** One GET of JSON with the kubeconfig's server, credentials and TLS settings. */
async function getJson(kc: KubeConfig, path: string): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("no current cluster in the kubeconfig");
  const url = new URL(cluster.server + path);
  const opts: https.RequestOptions = { method: "GET", headers: { accept: "application/json" } };
  await kc.applyToHTTPSOptions(opts);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let message = res.statusMessage ?? "";
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? message;
          } catch {}
          reject(Object.assign(new Error(`list ${path}: ${message}`), { code: status, statusCode: status }));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`list ${path}: timed out`)));
    req.end();
  });
}

/**
 * A full list, page by page (`limit`, `continue`), as plain objects; the event loop gets a turn
 * between pages. An expired continue token (410) starts the list again.
 */
async function listPages(
  kc: KubeConfig,
  path: string,
  pageSize: number,
): Promise<KubernetesListObject<KubernetesObject>> {
  for (let attempt = 0; ; attempt++) {
    const items: KubernetesObject[] = [];
    let token: string | undefined;
    let resourceVersion = "";
    try {
      do {
        const query = new URLSearchParams({ limit: String(pageSize) });
        if (token !== undefined) query.set("continue", token);
        const page = (await getJson(kc, `${path}?${query}`)) as {
          metadata?: { resourceVersion?: string; continue?: string };
          items?: KubernetesObject[];
        };
        for (const item of page.items ?? []) items.push(item);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?.continue || undefined;
      } while (token !== undefined);
      return { apiVersion: "v1", kind: "List", metadata: { resourceVersion }, items };
    } catch (err) {
      if ((err as { code?: unknown }).code !== 410 || attempt >= 2) throw err;
    }
  }
}
