import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { type LabelSelector, matchesLabelSelector } from "@nodeplan/core";
import { type ApiResource, apiResources } from "../resources.ts";

/**
 * A test double of kube-apiserver on loopback, speaking its REST and watch protocol for the kinds
 * the controller uses: list with a resourceVersion, `?watch=true` as a chunked stream of JSON lines
 * (from a resourceVersion, 410 Expired once it is compacted away), create (409 AlreadyExists),
 * replace with optimistic concurrency (409 Conflict), merge patch, delete (with finalizers), the
 * status subresource, and pods/eviction honouring PodDisruptionBudget status (429 when it blocks).
 * ConfigMaps over the apiserver's 1 MiB data limit are refused (422). With `gracefulPodDeletion` set,
 * a deleted or evicted pod stays, terminating (deletionTimestamp), for its grace period as a kubelet
 * would keep it. Hooks drop connections, restart the server and compact the watch history.
 */

type Obj = Record<string, unknown> & { metadata: Meta };
type Meta = Record<string, unknown> & {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
};
interface WatchEvent {
  rv: number;
  resource: ApiResource;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: Obj;
}

/** One request the server answered (watches included, recorded when they start). */
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  /** The request body for writes. */
  body?: unknown;
  /** When it was answered (ms since the epoch). */
  at: number;
}

/** A fault to inject: the next request matching `method` and `path` gets `status`. */
export interface InjectedFault {
  method: string;
  path: RegExp;
  status: number;
  times?: number;
}

/** The apiserver's limit on a ConfigMap's data (k8s.io/api/core/v1 validation: MaxConfigMapSize). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

const clone = <T>(v: T): T => structuredClone(v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Parses `a=b,c!=d,e` label selectors (equality and existence), enough for the kinds used here. */
function parseSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: {
    key: string;
    operator: "Exists" | "DoesNotExist" | "NotIn";
    values?: string[];
  }[] = [];
  for (const part of text.split(",").filter((p) => p !== "")) {
    const ne = part.split("!=");
    const eq = part.split(/==?/);
    if (ne.length === 2)
      matchExpressions.push({ key: ne[0] as string, operator: "NotIn", values: [ne[1] as string] });
    else if (eq.length === 2) matchLabels[eq[0] as string] = eq[1] as string;
    else if (part.startsWith("!")) matchExpressions.push({ key: part.slice(1), operator: "DoesNotExist" });
    else matchExpressions.push({ key: part, operator: "Exists" });
  }
  return { matchLabels, matchExpressions } as LabelSelector;
}

export class FakeApiServer {
  /** Every answered request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far (a client that reuses connections makes few). */
  connections = 0;
  private readonly store = new Map<string, Map<string, Obj>>();
  private history: WatchEvent[] = [];
  private compactedRv = 0;
  private rv = 1;
  private readonly faults: InjectedFault[] = [];
  private readonly watchers = new Set<{
    resource: ApiResource;
    namespace?: string;
    send: (e: WatchEvent) => void;
  }>();
  private server: Server;
  private port = 0;
  /** Pods terminating gracefully: key -> the timer that removes them. */
  private readonly terminating = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  /**
   * When set, deleting or evicting a running pod marks it terminating (deletionTimestamp) and removes it
   * after its grace period (DeleteOptions.gracePeriodSeconds, else spec.terminationGracePeriodSeconds,
   * else 30), each grace second lasting `msPerGraceSecond` here. Unset: pods go at once.
   */
  gracefulPodDeletion: { msPerGraceSecond: number } | undefined;

  private constructor() {
    this.server = this.makeServer();
  }

  /** Starts a server on 127.0.0.1 (a free port). */
  static async start(): Promise<FakeApiServer> {
    const api = new FakeApiServer();
    await api.listen();
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A KubeConfig for @kubernetes/client-node pointing at this server. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "fake", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** The current resourceVersion (the last write's). */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Writes an object as another client would (create or replace, ignoring resourceVersion). */
  put(object: Record<string, unknown>): Obj {
    const resource = this.resourceOf(object);
    const meta = object.metadata as Meta;
    const existing = this.bucket(resource).get(this.key(meta.namespace, meta.name));
    const next = clone(object) as Obj;
    if (existing === undefined) return this.insert(resource, next);
    next.metadata = { ...next.metadata, resourceVersion: existing.metadata.resourceVersion };
    return this.update(resource, existing, next);
  }

  /** Deletes an object as another client would. */
  remove(apiVersion: string, kind: string, name: string, namespace?: string): void {
    const resource = this.resourceOf({ apiVersion, kind });
    const existing = this.bucket(resource).get(this.key(namespace, name));
    if (existing !== undefined) this.erase(resource, existing);
  }

  /** Reads an object from the store (a copy), or undefined. */
  get(apiVersion: string, kind: string, name: string, namespace?: string): Obj | undefined {
    const found = this.bucket(this.resourceOf({ apiVersion, kind })).get(this.key(namespace, name));
    return found === undefined ? undefined : clone(found);
  }

  /** All objects of a kind (copies), sorted by namespace/name. */
  list(apiVersion: string, kind: string): Obj[] {
    return [...this.bucket(this.resourceOf({ apiVersion, kind })).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  /** Requests that change state (POST, PUT, PATCH, DELETE), optionally from index `since`. */
  writes(since = 0): RecordedRequest[] {
    return this.requests.slice(since).filter((r) => r.method !== "GET");
  }

  /** The next requests matching get the status instead (for example 500 or 429). */
  inject(fault: InjectedFault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Forgets the watch history up to now: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Closes every open connection (watches end as if the network dropped them). */
  dropConnections(): void {
    this.server.closeAllConnections();
  }

  /**
   * Stops the server, keeps it down for `downMs`, and starts it again on the same port with the same
   * objects; `compact` (default true) also drops the watch history, as a restarted apiserver's watch
   * cache starts from the current resourceVersion.
   */
  async restart(options: { downMs?: number; compact?: boolean } = {}): Promise<void> {
    await this.close();
    if (options.compact ?? true) this.compact();
    await new Promise((r) => setTimeout(r, options.downMs ?? 50));
    this.server = this.makeServer();
    await this.listen(this.port);
  }

  /** Stops the server and closes all connections. */
  async close(): Promise<void> {
    for (const t of this.terminating.values()) clearTimeout(t.timer);
    this.terminating.clear();
    this.watchers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private makeServer(): Server {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.reply(req, res, 500, statusBody(500, "InternalError", String(e)));
      });
    });
    server.on("connection", () => {
      this.connections += 1;
    });
    return server;
  }

  private listen(port = 0): Promise<void> {
    return new Promise((resolve) => {
      this.server.listen(port, "127.0.0.1", () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private resourceOf(o: { apiVersion?: unknown; kind?: unknown }): ApiResource {
    const found = apiResources.find((r) => r.apiVersion === o.apiVersion && r.kind === o.kind);
    if (found === undefined)
      throw new Error(`fake apiserver: unknown kind ${String(o.apiVersion)} ${String(o.kind)}`);
    return found;
  }

  private bucket(resource: ApiResource): Map<string, Obj> {
    const k = `${resource.apiVersion}/${resource.plural}`;
    let b = this.store.get(k);
    if (b === undefined) {
      b = new Map();
      this.store.set(k, b);
    }
    return b;
  }

  private key(namespace: string | undefined, name: string): string {
    return namespace === undefined || namespace === "" ? name : `${namespace}/${name}`;
  }

  private emit(resource: ApiResource, type: WatchEvent["type"], object: Obj): void {
    const event: WatchEvent = { rv: this.rv, resource, type, object: clone(object) };
    this.history.push(event);
    for (const w of this.watchers) {
      if (w.resource === resource && (w.namespace === undefined || w.namespace === object.metadata.namespace))
        w.send(event);
    }
  }

  private insert(resource: ApiResource, object: Obj): Obj {
    this.rv += 1;
    const meta = object.metadata;
    object.apiVersion = resource.apiVersion;
    object.kind = resource.kind;
    object.metadata = {
      ...meta,
      uid: typeof meta.uid === "string" ? meta.uid : randomUUID(),
      resourceVersion: String(this.rv),
      creationTimestamp:
        typeof meta.creationTimestamp === "string"
          ? meta.creationTimestamp
          : new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      generation: 1,
    };
    this.bucket(resource).set(this.key(meta.namespace, meta.name), object);
    this.emit(resource, "ADDED", object);
    return clone(object);
  }

  private update(resource: ApiResource, existing: Obj, next: Obj): Obj {
    const meta = next.metadata;
    const finalizers = meta.finalizers ?? [];
    if (existing.metadata.deletionTimestamp !== undefined && finalizers.length === 0) {
      this.erase(resource, {
        ...next,
        metadata: { ...meta, deletionTimestamp: existing.metadata.deletionTimestamp },
      });
      return clone(next);
    }
    this.rv += 1;
    next.apiVersion = resource.apiVersion;
    next.kind = resource.kind;
    next.metadata = {
      ...meta,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      ...(existing.metadata.deletionTimestamp === undefined
        ? {}
        : { deletionTimestamp: existing.metadata.deletionTimestamp }),
      resourceVersion: String(this.rv),
      generation:
        JSON.stringify(next.spec) === JSON.stringify(existing.spec)
          ? existing.metadata.generation
          : Number(existing.metadata.generation ?? 1) + 1,
    };
    this.bucket(resource).set(this.key(meta.namespace, meta.name), next);
    this.emit(resource, "MODIFIED", next);
    return clone(next);
  }

  private erase(resource: ApiResource, object: Obj): void {
    this.rv += 1;
    this.bucket(resource).delete(this.key(object.metadata.namespace, object.metadata.name));
    this.emit(resource, "DELETED", {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(this.rv) },
    });
  }

  private reply(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, reqBody?: unknown) {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      status,
      ...(reqBody === undefined ? {} : { body: reqBody }),
      at: Date.now(),
    });
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  /** Parses `/api/v1/...` and `/apis/<group>/<version>/...` into resource, namespace, name, subresource. */
  private route(pathname: string) {
    const parts = pathname.split("/").filter((p) => p !== "");
    let apiVersion: string;
    let rest: string[];
    if (parts[0] === "api" && parts[1] === "v1") [apiVersion, rest] = ["v1", parts.slice(2)];
    else if (parts[0] === "apis" && parts.length >= 3)
      [apiVersion, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
    else return undefined;
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = apiResources.find((r) => r.apiVersion === apiVersion && r.plural === rest[0]);
    if (resource === undefined) return undefined;
    return { resource, namespace, name: rest[1], subresource: rest[2] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        return this.reply(req, res, 400, statusBody(400, "BadRequest", "request body is not JSON"));
      }
    }
    const fault = this.faults.find((f) => f.method === method && f.path.test(url.pathname));
    if (fault !== undefined) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      return this.reply(req, res, fault.status, statusBody(fault.status, "Injected", "injected fault"), body);
    }
    const route = this.route(url.pathname);
    if (route === undefined)
      return this.reply(req, res, 404, statusBody(404, "NotFound", `no route ${url.pathname}`));
    const { resource, namespace, name, subresource } = route;
    const items = this.bucket(resource);
    const existing = name === undefined ? undefined : items.get(this.key(namespace, name));
    const notFound = () =>
      this.reply(
        req,
        res,
        404,
        statusBody(404, "NotFound", `${resource.plural} "${name}" not found`, {
          name,
          kind: resource.plural,
        }),
        body,
      );

    if (method === "GET" && name === undefined) {
      const watch = url.searchParams.get("watch");
      if (watch === "true" || watch === "1")
        return this.watch(req, res, resource, namespace, url.searchParams);
      const selector = url.searchParams.get("labelSelector");
      const parsed = selector === null ? undefined : parseSelector(selector);
      const all = [...items.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, o]) => o)
        .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
        .filter((o) => parsed === undefined || matchesLabelSelector(parsed, o.metadata.labels ?? {}));
      // Pages: `limit` and an opaque `continue` (here the key to resume from and the list's
      // resourceVersion; the real apiserver serves every page from one snapshot, this double from
      // the current objects).
      const limit = Number(url.searchParams.get("limit") ?? "0");
      const token = url.searchParams.get("continue");
      let from = 0;
      let listRv = String(this.rv);
      if (token !== null && token !== "") {
        const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
          key: string;
          rv: string;
        };
        const keyOf = (o: Obj) => this.key(o.metadata.namespace, o.metadata.name);
        from = all.findIndex((o) => keyOf(o) >= decoded.key);
        if (from < 0) from = all.length;
        listRv = decoded.rv;
      }
      const to = limit > 0 ? Math.min(all.length, from + limit) : all.length;
      const next = all[to];
      const more =
        next === undefined
          ? undefined
          : Buffer.from(
              JSON.stringify({ key: this.key(next.metadata.namespace, next.metadata.name), rv: listRv }),
            ).toString("base64url");
      return this.reply(req, res, 200, {
        apiVersion: resource.apiVersion,
        kind: `${resource.kind}List`,
        metadata: { resourceVersion: listRv, ...(more === undefined ? {} : { continue: more }) },
        items: all.slice(from, to).map(clone),
      });
    }
    if (method === "GET") return existing === undefined ? notFound() : this.reply(req, res, 200, existing);

    if (method === "POST" && subresource === "eviction" && resource.kind === "Pod") {
      if (existing === undefined) return notFound();
      return this.evict(req, res, existing, body);
    }
    if (method === "POST" && name === undefined) {
      if (!isRecord(body) || !isRecord(body.metadata))
        return this.reply(req, res, 400, statusBody(400, "BadRequest", "metadata is required"), body);
      const meta = body.metadata as Meta;
      if (typeof meta.name !== "string" && typeof meta.generateName === "string")
        meta.name = `${meta.generateName}${createHash("sha256").update(String(this.rv)).digest("hex").slice(0, 5)}`;
      if (typeof meta.name !== "string" || meta.name === "")
        return this.reply(req, res, 422, statusBody(422, "Invalid", "metadata.name: Required value"), body);
      if (resource.namespaced) meta.namespace = namespace ?? meta.namespace ?? "default";
      else delete meta.namespace;
      if (items.has(this.key(meta.namespace, meta.name)))
        return this.reply(
          req,
          res,
          409,
          statusBody(409, "AlreadyExists", `${resource.plural} "${meta.name}" already exists`, {
            name: meta.name,
            kind: resource.plural,
          }),
          body,
        );
      delete meta.resourceVersion;
      const created: Obj = { ...(body as Obj), metadata: meta };
      const tooLarge = this.tooLarge(req, res, resource, created, body);
      if (tooLarge) return;
      // Status is not the client's to set on create (PrepareForCreate resets it).
      if (resource.statusSubresource) delete created.status;
      return this.reply(req, res, 201, this.insert(resource, created), body);
    }
    if (existing === undefined) return notFound();

    if (method === "PUT" || method === "PATCH") {
      if (!isRecord(body))
        return this.reply(req, res, 400, statusBody(400, "BadRequest", "body must be an object"), body);
      let next: Obj;
      if (method === "PATCH") {
        const type = req.headers["content-type"] ?? "";
        if (!type.includes("merge-patch") && !type.includes("strategic-merge-patch"))
          return this.reply(
            req,
            res,
            415,
            statusBody(415, "UnsupportedMediaType", `unsupported patch type ${type}`),
            body,
          );
        next = mergePatch(existing, body) as Obj;
      } else next = body as Obj;
      const wanted = next.metadata?.resourceVersion;
      if (
        method === "PUT" &&
        wanted !== undefined &&
        wanted !== "" &&
        wanted !== existing.metadata.resourceVersion
      )
        return this.reply(
          req,
          res,
          409,
          statusBody(
            409,
            "Conflict",
            `Operation cannot be fulfilled on ${resource.plural} "${existing.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
            { name: existing.metadata.name, kind: resource.plural },
          ),
          body,
        );
      // The status subresource writes only status; the main resource never writes status.
      if (resource.statusSubresource) {
        next =
          subresource === "status"
            ? { ...clone(existing), status: clone(next.status) }
            : { ...clone(next), metadata: { ...clone(next.metadata) }, status: clone(existing.status) };
      }
      next.metadata = { ...next.metadata, name: existing.metadata.name };
      if (existing.metadata.namespace !== undefined) next.metadata.namespace = existing.metadata.namespace;
      if (this.tooLarge(req, res, resource, next, body)) return;
      return this.reply(req, res, 200, this.update(resource, existing, next), body);
    }
    if (method === "DELETE") {
      if (resource.kind === "Pod" && this.gracefulPodDeletion !== undefined) {
        const fromQuery = url.searchParams.get("gracePeriodSeconds");
        const fromBody = isRecord(body) ? body.gracePeriodSeconds : undefined;
        const grace =
          fromQuery !== null ? Number(fromQuery) : typeof fromBody === "number" ? fromBody : undefined;
        return this.reply(req, res, 200, this.terminatePod(existing, grace), body);
      }
      if ((existing.metadata.finalizers ?? []).length > 0) {
        if (existing.metadata.deletionTimestamp !== undefined)
          return this.reply(req, res, 200, clone(existing));
        const marked = {
          ...clone(existing),
          metadata: { ...clone(existing.metadata), deletionTimestamp: new Date().toISOString() },
        };
        return this.reply(req, res, 200, this.update(resource, existing, marked));
      }
      this.erase(resource, existing);
      return this.reply(
        req,
        res,
        200,
        statusBody(200, "", "deleted", { name: existing.metadata.name, kind: resource.plural }),
      );
    }
    return this.reply(req, res, 405, statusBody(405, "MethodNotAllowed", `${method} is not allowed`), body);
  }

  /** 422 when a ConfigMap's data is over the apiserver's limit (true: answered). */
  private tooLarge(
    req: IncomingMessage,
    res: ServerResponse,
    resource: ApiResource,
    object: Obj,
    body: unknown,
  ): boolean {
    if (resource.kind !== "ConfigMap") return false;
    let bytes = 0;
    for (const [k, v] of Object.entries((object.data as Record<string, string> | undefined) ?? {}))
      bytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
    if (bytes <= CONFIGMAP_MAX_BYTES) return false;
    this.reply(
      req,
      res,
      422,
      statusBody(
        422,
        "Invalid",
        `ConfigMap "${object.metadata.name}" is invalid: []: Too long: must have at most ${CONFIGMAP_MAX_BYTES} bytes`,
      ),
      body,
    );
    return true;
  }

  /**
   * Graceful pod deletion as the apiserver and kubelet do it: the pod gets a deletionTimestamp (now +
   * grace) and stays until the grace has passed; a later delete with a shorter grace shortens it.
   */
  private terminatePod(pod: Obj, graceSeconds: number | undefined): Obj {
    const resource = this.resourceOf({ apiVersion: "v1", kind: "Pod" });
    const key = this.key(pod.metadata.namespace, pod.metadata.name);
    const spec = (pod.spec ?? {}) as { terminationGracePeriodSeconds?: number };
    const grace = Math.max(0, graceSeconds ?? spec.terminationGracePeriodSeconds ?? 30);
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    const scale = this.gracefulPodDeletion?.msPerGraceSecond ?? 0;
    const endsAt = Date.now() + grace * scale;
    const pending = this.terminating.get(key);
    if (grace === 0 || phase === "Succeeded" || phase === "Failed") {
      if (pending !== undefined) clearTimeout(pending.timer);
      this.terminating.delete(key);
      this.erase(resource, pod);
      return pod;
    }
    if (pending !== undefined && pending.at <= endsAt) return clone(pod);
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.terminating.delete(key);
      const current = this.bucket(resource).get(key);
      if (current !== undefined) this.erase(resource, current);
    }, grace * scale);
    this.terminating.set(key, { at: endsAt, timer });
    if (pod.metadata.deletionTimestamp !== undefined) return clone(pod);
    return this.update(resource, pod, {
      ...clone(pod),
      metadata: {
        ...clone(pod.metadata),
        deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
        deletionGracePeriodSeconds: grace,
      },
    });
  }

  /**
   * pods/eviction as the apiserver's eviction REST handler does it: a pod under several PDBs is a 500,
   * a PDB with no disruptions allowed is a 429 (TooManyRequests, cause DisruptionBudget); otherwise the
   * PDB's status.disruptionsAllowed is decremented and the pod deleted.
   */
  private evict(req: IncomingMessage, res: ServerResponse, pod: Obj, body: unknown) {
    const pdbResource = this.resourceOf({ apiVersion: "policy/v1", kind: "PodDisruptionBudget" });
    const labels = pod.metadata.labels ?? {};
    const pdbs = [...this.bucket(pdbResource).values()].filter((p) => {
      const selector = (p.spec as { selector?: Partial<LabelSelector> } | undefined)?.selector;
      if (p.metadata.namespace !== pod.metadata.namespace || selector === undefined) return false;
      return matchesLabelSelector(
        { matchLabels: selector.matchLabels ?? {}, matchExpressions: selector.matchExpressions ?? [] },
        labels,
      );
    });
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    const terminal = phase === "Succeeded" || phase === "Failed";
    // The eviction handler's canIgnorePDB: a terminal, pending or already terminating pod is deleted
    // without consulting PDBs (it disrupts nothing more).
    if (terminal || phase === "Pending" || pod.metadata.deletionTimestamp !== undefined) {
      if (this.gracefulPodDeletion !== undefined && !terminal) this.terminatePod(pod, undefined);
      else this.erase(this.resourceOf({ apiVersion: "v1", kind: "Pod" }), pod);
      return this.reply(req, res, 201, statusBody(201, "", "evicted"), body);
    }
    if (pdbs.length > 1)
      return this.reply(
        req,
        res,
        500,
        statusBody(
          500,
          "InternalError",
          "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ),
        body,
      );
    const pdb = pdbs[0];
    if (pdb !== undefined) {
      const status = (pdb.status ?? {}) as { disruptionsAllowed?: number };
      const allowed = status.disruptionsAllowed ?? 0;
      if (allowed <= 0)
        return this.reply(
          req,
          res,
          429,
          statusBody(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
            {
              causes: [
                {
                  reason: "DisruptionBudget",
                  message: `The disruption budget ${pdb.metadata.name} needs more healthy pods and has ${allowed} disruptions allowed`,
                },
              ],
            },
          ),
          body,
        );
      this.update(pdbResource, pdb, {
        ...clone(pdb),
        status: { ...status, disruptionsAllowed: allowed - 1 },
      });
    }
    if (this.gracefulPodDeletion !== undefined) this.terminatePod(pod, undefined);
    else this.erase(this.resourceOf({ apiVersion: "v1", kind: "Pod" }), pod);
    return this.reply(req, res, 201, statusBody(201, "", "evicted"), body);
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: ApiResource,
    namespace: string | undefined,
    params: URLSearchParams,
  ) {
    const from = params.get("resourceVersion") ?? "";
    const write = (line: unknown) => res.write(`${JSON.stringify(line)}\n`);
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    this.requests.push({
      method: "GET",
      path: new URL(req.url ?? "/", "http://x").pathname,
      query: `?${params}`,
      status: 200,
      at: Date.now(),
    });
    const matches = (e: WatchEvent) =>
      e.resource === resource && (namespace === undefined || e.object.metadata.namespace === namespace);
    if (from === "" || from === "0") {
      for (const o of this.bucket(resource).values())
        if (namespace === undefined || o.metadata.namespace === namespace)
          write({ type: "ADDED", object: o });
    } else {
      const since = Number(from);
      if (!Number.isFinite(since) || since < this.compactedRv) {
        write({
          type: "ERROR",
          object: statusBody(410, "Expired", `too old resource version: ${from} (${this.compactedRv})`),
        });
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > since && matches(e)) write({ type: e.type, object: e.object });
    }
    const watcher = {
      resource,
      ...(namespace === undefined ? {} : { namespace }),
      send: (e: WatchEvent) => write({ type: e.type, object: e.object }),
    };
    this.watchers.add(watcher);
    const timeout = Number(params.get("timeoutSeconds") ?? "0");
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on("close", () => {
      this.watchers.delete(watcher);
      if (timer !== undefined) clearTimeout(timer);
    });
  }
}
