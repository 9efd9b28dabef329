import {
  type ClusterState,
  type InputError,
  type IssuePath,
  type Pod,
  renderInputError,
  validateNodeSelectorRequirement,
} from "@nodeplan/core";
import { loadManifests } from "../load-manifests.ts";
import type { KubeObject } from "./informers.ts";
import { culprits } from "./isolate.ts";

/**
 * The informer cache read as a cluster state, one object at a time as far as errors go: an object
 * that cannot be read (a field the schema rejects, a requirement the solver could not evaluate, a
 * converter that throws on it) is skipped with a typed error naming it, and the rest is read.
 */

/** Why one object was skipped. */
export interface ObjectError {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  /** An InputError code, `conversion_error` (the converter threw) or `solver_error` (a solve threw on it). */
  code: string;
  /** One sentence naming the object and the field. */
  message: string;
}

/** An object's identity and version, for the quarantine and for Events. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export const refOf = (o: KubeObject): ObjectRef => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
  name: o.metadata.name,
  ...(o.metadata.uid === undefined ? {} : { uid: o.metadata.uid }),
  ...(o.metadata.resourceVersion === undefined ? {} : { resourceVersion: o.metadata.resourceVersion }),
});

/** `Kind namespace/name` or `Kind name`. */
export const describeRef = (r: { kind: string; namespace?: string | undefined; name: string }) =>
  `${r.kind} ${r.namespace === undefined ? "" : `${r.namespace}/`}${r.name}`;

export const objectError = (ref: ObjectRef, code: string, message: string): ObjectError => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
  name: ref.name,
  ...(ref.uid === undefined ? {} : { uid: ref.uid }),
  code,
  message,
});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Every node selector requirement in a pod spec, with its path. */
function podSpecRequirements(spec: unknown, base: IssuePath): [unknown, IssuePath][] {
  const out: [unknown, IssuePath][] = [];
  const node = isRecord(spec) && isRecord(spec.affinity) ? spec.affinity.nodeAffinity : undefined;
  if (!isRecord(node)) return out;
  const required = node.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = isRecord(required) ? list(required.nodeSelectorTerms) : [];
  const nodeAffinity = [...base, "affinity", "nodeAffinity"];
  terms.forEach((term, t) => {
    if (!isRecord(term)) return;
    list(term.matchExpressions).forEach((r, i) => {
      out.push([
        r,
        [
          ...nodeAffinity,
          "requiredDuringSchedulingIgnoredDuringExecution",
          "nodeSelectorTerms",
          t,
          "matchExpressions",
          i,
        ],
      ]);
    });
  });
  list(node.preferredDuringSchedulingIgnoredDuringExecution).forEach((p, t) => {
    if (!isRecord(p) || !isRecord(p.preference)) return;
    list(p.preference.matchExpressions).forEach((r, i) => {
      out.push([
        r,
        [
          ...nodeAffinity,
          "preferredDuringSchedulingIgnoredDuringExecution",
          t,
          "preference",
          "matchExpressions",
          i,
        ],
      ]);
    });
  });
  return out;
}

/** The node selector requirements of an object the solver evaluates, with their paths. */
function requirementsOf(o: KubeObject): [unknown, IssuePath][] {
  const spec = o.spec as Record<string, unknown> | undefined;
  switch (o.kind) {
    case "Pod":
      return podSpecRequirements(spec, ["spec"]);
    case "DaemonSet": {
      const template = isRecord(spec?.template) ? spec.template.spec : undefined;
      return podSpecRequirements(template, ["spec", "template", "spec"]);
    }
    case "NodePool": {
      const template = isRecord(spec?.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
      return list(template.requirements).map((r, i) => [r, ["spec", "template", "spec", "requirements", i]]);
    }
    case "NodeClaim":
      return list(spec?.requirements).map((r, i) => [r, ["spec", "requirements", i]]);
    default:
      return [];
  }
}

/**
 * Checks what the adapter's schemas accept but the solver cannot evaluate: node selector
 * requirements with core's validator (a `Gt` with a value that is not an integer, say). Returns the
 * first error, or undefined.
 */
export function preflight(o: KubeObject): ObjectError | undefined {
  for (const [raw, path] of requirementsOf(o)) {
    const checked = validateNodeSelectorRequirement(raw, path);
    if (!checked.ok) {
      const first = checked.errors[0] as InputError;
      return objectError(refOf(o), first.code, renderInputError({ ...first, object: describeRef(refOf(o)) }));
    }
  }
  return undefined;
}

const load = (objects: readonly KubeObject[], now: string) =>
  loadManifests(
    [{ source: "cluster", text: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) }],
    { now },
  );

/** The cluster read from the cache, what was skipped and why. */
export interface ReadResult {
  cluster: ClusterState;
  nodePoolUids: Record<string, string>;
  errors: ObjectError[];
}

/**
 * Reads `objects` into a cluster state. Objects `skip` names are left out (already reported); each
 * object the preflight or the converter rejects is skipped with its error; should the converter
 * throw, the objects it throws on are found (by bisection) and skipped too. Throws only when the
 * converter fails on no object in particular.
 */
export function readCluster(
  objects: readonly KubeObject[],
  now: string,
  skip: (o: KubeObject) => boolean = () => false,
): ReadResult {
  const errors: ObjectError[] = [];
  const readable: KubeObject[] = [];
  for (const o of objects) {
    if (skip(o)) continue;
    const error = preflight(o);
    if (error === undefined) readable.push(o);
    else errors.push(error);
  }
  let loaded: ReturnType<typeof load>;
  let items = readable;
  try {
    loaded = load(items, now);
  } catch (err) {
    const throws = (kept: readonly KubeObject[]) => {
      try {
        load(kept, now);
        return false;
      } catch {
        return true;
      }
    };
    const found = culprits(items, throws, { max: 20 });
    const bad = new Set(found.culprits);
    for (const o of found.culprits)
      errors.push(
        objectError(
          refOf(o),
          "conversion_error",
          `${describeRef(refOf(o))}: could not be read: ${messageOf(err, o, now)}`,
        ),
      );
    items = items.filter((o) => !bad.has(o));
    loaded = load(items, now);
  }
  for (const e of loaded.errors) {
    // Paths are [document, "items", index, ...field]: the index names the object.
    const index = e.path[2];
    const o = typeof index === "number" ? items[index] : undefined;
    const ref: ObjectRef = o === undefined ? { apiVersion: "v1", kind: "List", name: "cluster" } : refOf(o);
    errors.push(
      objectError(ref, e.code, renderInputError({ ...e, source: undefined, path: e.path.slice(3) })),
    );
  }
  return { cluster: loaded.cluster, nodePoolUids: loaded.nodePoolUids, errors };
}

/** What the converter throws on this object alone. */
function messageOf(fallback: unknown, o: KubeObject, now: string): string {
  try {
    load([o], now);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return fallback instanceof Error ? fallback.message : String(fallback);
}

/** Units converted per batch before the event loop gets a turn (tens of ms each on a busy core). */
const BATCH = 200;
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** Objects converted together and cached together: a pod, or a Node with its NodeClaim. */
interface Unit {
  key: string;
  version: string;
  objects: KubeObject[];
}
interface Converted {
  version: string;
  pods: Pod[];
  nodes: ClusterState["nodes"];
  errors: ObjectError[];
}

const versionOf = (o: KubeObject) =>
  o.metadata.resourceVersion === undefined
    ? undefined
    : `${o.metadata.uid ?? ""}/${o.metadata.resourceVersion}`;

/**
 * Pods one by one; each Node with the NodeClaim it belongs to (same providerID, the claim's
 * status.nodeName, or the Node's owner reference or karpenter.sh/nodeclaim label), as `mergeNodes`
 * pairs them; a NodeClaim without a Node alone (in flight).
 */
function units(
  pods: readonly KubeObject[],
  nodes: readonly KubeObject[],
  claims: readonly KubeObject[],
): Unit[] {
  const out: Unit[] = [];
  const unit = (key: string, objects: KubeObject[]) => {
    const versions = objects.map(versionOf);
    // An object without a resourceVersion (not from an apiserver) is converted every pass.
    const version = versions.some((v) => v === undefined) ? `volatile/${Math.random()}` : versions.join("+");
    out.push({ key, version, objects });
  };
  for (const o of pods) unit(`Pod/${o.metadata.namespace ?? ""}/${o.metadata.name}`, [o]);
  const byProvider = new Map<string, KubeObject>();
  const byNodeName = new Map<string, KubeObject>();
  const byName = new Map<string, KubeObject>();
  for (const c of claims) {
    const status = (c.status ?? {}) as { providerID?: string; nodeName?: string };
    if (status.providerID) byProvider.set(status.providerID, c);
    if (status.nodeName) byNodeName.set(status.nodeName, c);
    byName.set(c.metadata.name, c);
  }
  const used = new Set<KubeObject>();
  for (const n of nodes) {
    const meta = n.metadata as {
      labels?: Record<string, string>;
      ownerReferences?: { kind: string; name: string }[];
    };
    const related =
      meta.ownerReferences?.find((r) => r.kind === "NodeClaim")?.name ??
      meta.labels?.["karpenter.sh/nodeclaim"];
    const providerID = (n.spec as { providerID?: string } | undefined)?.providerID;
    const claim =
      (providerID ? byProvider.get(providerID) : undefined) ??
      byNodeName.get(n.metadata.name) ??
      (related === undefined ? undefined : byName.get(related));
    // A claim two Nodes point at stays with the first (as mergeNodes: it matches it once).
    const paired = claim !== undefined && !used.has(claim) ? claim : undefined;
    if (paired !== undefined) used.add(paired);
    unit(`Node/${n.metadata.name}`, paired === undefined ? [n] : [n, paired]);
  }
  for (const c of claims) if (!used.has(c)) unit(`NodeClaim/${c.metadata.name}`, [c]);
  return out;
}

/**
 * `readCluster` over a cache that changes a little between passes: pods, and Nodes with their
 * NodeClaims, are converted once per resourceVersion and reused until they change (they are nearly
 * all of a cluster's objects, and their conversion depends on nothing else the controller watches);
 * what changed is converted in batches with the event loop given a turn between them, so a large
 * first pass does not stall Lease renewals. NodePools, DaemonSets, PDBs and node classes (few) are
 * read each pass. Pods and nodes come out in name order, whatever order the cache lists them in.
 */
export class ClusterReader {
  private readonly cache = new Map<string, Converted>();

  async read(objects: readonly KubeObject[], now: string): Promise<ReadResult> {
    const pods: KubeObject[] = [];
    const nodes: KubeObject[] = [];
    const claims: KubeObject[] = [];
    const others: KubeObject[] = [];
    for (const o of objects) {
      if (o.kind === "Pod") pods.push(o);
      else if (o.kind === "Node") nodes.push(o);
      else if (o.kind === "NodeClaim") claims.push(o);
      else others.push(o);
    }
    const all = units(pods, nodes, claims);
    const present = new Set(all.map((u) => u.key));
    for (const key of this.cache.keys()) if (!present.has(key)) this.cache.delete(key);
    const changed = all.filter((u) => this.cache.get(u.key)?.version !== u.version);
    for (let i = 0; i < changed.length; i += BATCH) {
      const batch = changed.slice(i, i + BATCH);
      const result = readCluster(
        batch.flatMap((u) => u.objects),
        now,
      );
      const unitOf = new Map<string, Unit>();
      for (const u of batch)
        for (const o of u.objects)
          unitOf.set(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, u);
      const out = new Map<Unit, Converted>(
        batch.map((u) => [u, { version: u.version, pods: [], nodes: [], errors: [] }]),
      );
      for (const e of result.errors) {
        const u = unitOf.get(`${e.kind}/${e.namespace ?? ""}/${e.name}`);
        if (u !== undefined) out.get(u)?.errors.push(e);
      }
      for (const p of result.cluster.pods) {
        const u = unitOf.get(`Pod/${p.namespace}/${p.name}`) ?? unitOf.get(`Pod//${p.name}`);
        if (u !== undefined) out.get(u)?.pods.push(p);
      }
      for (const n of result.cluster.nodes) {
        const u = unitOf.get(`Node//${n.name}`) ?? unitOf.get(`NodeClaim//${n.nodeClaim ?? n.name}`);
        if (u !== undefined) out.get(u)?.nodes.push(n);
      }
      for (const [u, converted] of out) this.cache.set(u.key, converted);
      await yieldNow();
    }
    const rest = readCluster(others, now);
    const errors = [...rest.errors];
    const modelPods: Pod[] = [];
    const modelNodes: ClusterState["nodes"] = [];
    for (const u of all) {
      const converted = this.cache.get(u.key);
      if (converted === undefined) continue;
      modelPods.push(...converted.pods);
      modelNodes.push(...converted.nodes);
      errors.push(...converted.errors);
    }
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return {
      cluster: {
        ...rest.cluster,
        pods: modelPods
          .map((p) => ({ key: `${p.namespace}/${p.name}`, p }))
          .sort(byKey)
          .map((x) => x.p),
        nodes: modelNodes
          .map((n) => ({ key: n.name, n }))
          .sort(byKey)
          .map((x) => x.n),
      },
      nodePoolUids: rest.nodePoolUids,
      errors,
    };
  }
}
