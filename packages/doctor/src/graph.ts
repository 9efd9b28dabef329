import {
  type ClusterState,
  constraintsOf,
  type DaemonSet,
  fits,
  formatPath,
  type InstanceType,
  matchesLabelSelector,
  type NodePool,
  type Offering,
  type Pod,
  type PodConstraints,
  type PodDisruptionBudget,
  poolAccepts,
  requirementConflict,
  untoleratedPoolTaint,
} from "@nodeplan/core";
import type { ObjectRef } from "./finding.ts";
import type { Segment } from "./json-patch.ts";
import { at, isRaw, listAt, numberAt, type Raw, recordAt, stringAt, stringMapAt } from "./raw.ts";

/**
 * The object graph every rule reads, built once per run: objects as written (with file, document and
 * item), workloads with their model pods, HPA -> workload, PDB -> pods and workloads, pod -> the
 * NodePools it can run on (core's compatibility rule), NodePool -> EC2NodeClass, Argo CD Application
 * -> the objects it tracks. Indexes are nested maps (namespace, kind, name), never joined strings.
 */

/**
 * One object of a load, as `@nodeplan/k8s-adapter`'s `LoadResult.graph.objects` holds it: the same
 * shape written here, not imported, so the doctor does not depend on the adapter (whose controller
 * is a host that calls the doctor).
 */
export interface ManifestObject {
  source: string;
  /** Document index first, then `items` and the index inside a `List`. */
  path: readonly (string | number)[];
  document: number;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  raw: unknown;
  outcome: "loaded" | "ignored" | "rejected";
}

/** What the doctor reads: the load's object graph and model, the catalog per NodePool, and the time. */
export interface DoctorInput {
  /** The loader's object graph (`LoadResult.graph`, or `LoadedInputs.graph` in the CLI). */
  graph: { objects: readonly ManifestObject[] };
  /** The loaded cluster (NodePools as planned: the default one when the input has none). */
  cluster: ClusterState;
  /** Instance types per NodePool name, as `plan` gets them. */
  instanceTypes: Readonly<Record<string, readonly InstanceType[]>>;
  /** RFC 3339. */
  now: string;
}

/** An object of the input (not rejected, with a kind and a name). */
export interface Obj {
  manifest: ManifestObject;
  raw: Raw;
  apiVersion: string;
  kind: string;
  /** Resolved: `default` for a namespaced kind written without one; undefined for cluster-scoped kinds. */
  namespace?: string;
  name: string;
  annotations: Record<string, string>;
}

/** Kinds that live outside namespaces. */
const CLUSTER_SCOPED = new Set([
  "Node",
  "NodePool",
  "NodeClaim",
  "EC2NodeClass",
  "Namespace",
  "PriorityClass",
  "StorageClass",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
]);

/** The finding's reference to an object, pointing at `path` inside it. */
export function ref(o: Obj, path?: readonly Segment[]): ObjectRef {
  const out: ObjectRef = { kind: o.kind, name: o.name };
  if (o.namespace !== undefined) out.namespace = o.namespace;
  out.file = o.manifest.source;
  out.document = o.manifest.document;
  const items = o.manifest.path.indexOf("items");
  const item = items < 0 ? undefined : o.manifest.path[items + 1];
  if (typeof item === "number") out.item = item;
  if (path !== undefined && path.length > 0) out.path = formatPath(path);
  return out;
}

/**
 * `Kind namespace/name` or `Kind name`, as errors and findings name objects; pods made alike read
 * `3 Pods like shop/worker-0`.
 */
export const describe = (o: { kind: string; namespace?: string; name: string; alike?: Obj[] }) => {
  const id = o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`;
  return o.alike === undefined ? `${o.kind} ${id}` : `${o.alike.length + 1} ${o.kind}s like ${id}`;
};

/** A container of a pod template. */
export interface Container {
  index: number;
  /** `containers` or `initContainers`. */
  list: "containers" | "initContainers";
  name: string;
  image: string;
  /** Path of the container inside its object. */
  path: Segment[];
  raw: Raw;
}

/** Workload kinds the doctor reads pod templates from. */
export type WorkloadKind =
  | "Deployment"
  | "StatefulSet"
  | "ReplicaSet"
  | "DaemonSet"
  | "Job"
  | "CronJob"
  | "Pod";

/** A workload (or a bare Pod) and what it runs. */
export interface Workload extends Obj {
  kind: WorkloadKind;
  namespace: string;
  /** Path of the pod template (metadata + spec) inside the object; [] for a Pod. */
  templatePath: Segment[];
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
  /** `spec.replicas` as written (Deployment, StatefulSet, ReplicaSet). */
  replicasWritten?: number;
  /** The pod counts it can have: its replicas, or its HPA's minReplicas..maxReplicas. */
  replicas: { low: number; high: number };
  hpa?: Hpa;
  /** Model pods it owns (synthesized from its template, or present in the input). */
  pods: Pod[];
  /** The model DaemonSet, for a DaemonSet. */
  daemonSet?: DaemonSet;
  /** Scheduling constraints of its pods (its first pod's, or its DaemonSet template's). */
  constraints?: PodConstraints;
  pdbs: Pdb[];
  /** NodePools its pods are on or can be placed on. */
  pools: Pool[];
  containers: Container[];
  /** Runs until deleted (Deployment, StatefulSet, ReplicaSet, their pods): not a Job. */
  longLived: boolean;
  /** For a Pod: the other Pod objects of the input made alike (one controller, or one app's bare pods). */
  alike?: Obj[];
}

/** A HorizontalPodAutoscaler and its target. */
export interface Hpa extends Obj {
  namespace: string;
  targetKind: string;
  targetName: string;
  target?: Workload;
  minReplicas: number;
  maxReplicas: number;
}

/** A PodDisruptionBudget with the pods and workloads it selects. */
export interface Pdb extends Obj {
  namespace: string;
  model?: PodDisruptionBudget;
  pods: Pod[];
  workloads: Workload[];
}

/** A NodePool (the input's, or the default one the load added) with its catalog view. */
export interface Pool {
  name: string;
  model: NodePool;
  /** Undefined for the default NodePool (not in the input). */
  obj?: Obj;
  nodeClassName?: string;
  nodeClass?: Obj;
  types: readonly InstanceType[];
  /** Zones, capacity types and architectures the NodePool can launch in its catalog. */
  zones: string[];
  capacityTypes: string[];
  arches: string[];
  /** Consolidation of underutilized nodes is on (WhenEmptyOrUnderutilized, consolidateAfter not Never). */
  consolidates: boolean;
}

/** An Argo CD Application and the objects of the input it tracks. */
export interface ArgoApp extends Obj {
  namespace: string;
  /** Sources with a path (`spec.source`, or each of `spec.sources`), with their JSON path. */
  sources: { path: string; recurse: boolean; include?: string; exclude?: string; at: Segment[] }[];
  tracked: Obj[];
  selfHeal: boolean;
}

const WORKLOAD_TEMPLATE: Record<Exclude<WorkloadKind, "Pod">, Segment[]> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** Nested maps namespace -> kind -> name (cluster-scoped objects under namespace ""). */
class Index<T> {
  private readonly map = new Map<string, Map<string, Map<string, T>>>();
  set(namespace: string | undefined, kind: string, name: string, value: T): void {
    let kinds = this.map.get(namespace ?? "");
    if (kinds === undefined) this.map.set(namespace ?? "", (kinds = new Map()));
    let names = kinds.get(kind);
    if (names === undefined) kinds.set(kind, (names = new Map()));
    names.set(name, value);
  }
  get(namespace: string | undefined, kind: string, name: string): T | undefined {
    return this.map
      .get(namespace ?? "")
      ?.get(kind)
      ?.get(name);
  }
}

/** The graph rules read. */
export interface DoctorGraph {
  input: DoctorInput;
  objects: Obj[];
  byKind(kind: string): Obj[];
  find(namespace: string | undefined, kind: string, name: string): Obj | undefined;
  workloads: Workload[];
  hpas: Hpa[];
  pdbs: Pdb[];
  pools: Pool[];
  poolByName: Map<string, Pool>;
  apps: ArgoApp[];
  /** The workload that owns a model pod. */
  workloadOf(pod: Pod): Workload | undefined;
  /** NodePools whose nodes can run pods with these constraints (taints, requirements, offerings). */
  compatiblePools(c: PodConstraints): Pool[];
  /** Can pods with these constraints run on this offering of this pool (requirements only, not taints)? */
  accepts(c: PodConstraints, pool: Pool, it: InstanceType, o: Offering): boolean;
}

function toObj(m: ManifestObject): Obj | undefined {
  if (m.outcome === "rejected" || !isRaw(m.raw)) return undefined;
  const kind = m.kind;
  const name = m.name;
  if (kind === undefined || name === undefined || m.apiVersion === undefined) return undefined;
  const o: Obj = {
    manifest: m,
    raw: m.raw,
    apiVersion: m.apiVersion,
    kind,
    name,
    annotations: stringMapAt(m.raw, ["metadata", "annotations"]),
  };
  if (!CLUSTER_SCOPED.has(kind)) o.namespace = m.namespace ?? "default";
  return o;
}

function containersOf(raw: Raw, templatePath: Segment[]): Container[] {
  const out: Container[] = [];
  for (const list of ["initContainers", "containers"] as const) {
    const specPath = [...templatePath, "spec", list];
    listAt(raw, specPath).forEach((c, index) => {
      if (!isRaw(c)) return;
      out.push({
        index,
        list,
        name: typeof c.name === "string" ? c.name : `#${index}`,
        image: typeof c.image === "string" ? c.image : "",
        path: [...specPath, index],
        raw: c,
      });
    });
  }
  return out;
}

/** Zones, capacity types and architectures a pool can launch. */
function poolView(pool: NodePool, types: readonly InstanceType[]) {
  const zones = new Set<string>();
  const capacityTypes = new Set<string>();
  const arches = new Set<string>();
  for (const it of types)
    for (const o of it.offerings) {
      if (!o.available || !poolAccepts(pool, it, o)) continue;
      zones.add(o.zone);
      capacityTypes.add(o.capacityType);
      const arch = it.labels["kubernetes.io/arch"];
      if (arch !== undefined) arches.add(arch);
    }
  return { zones: [...zones].sort(), capacityTypes: [...capacityTypes].sort(), arches: [...arches].sort() };
}

/** Does a pool consolidate underutilized nodes? */
export const consolidates = (pool: NodePool) =>
  pool.disruption.consolidationPolicy === "WhenEmptyOrUnderutilized" &&
  pool.disruption.consolidateAfter !== "Never";

/** Argo CD's glob (include/exclude): `*`, `**`, `?` and `{a,b}` alternatives. */
export function globMatches(glob: string, path: string): boolean {
  let re = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "{") {
      re += "(?:";
      depth++;
    } else if (c === "}" && depth > 0) {
      re += ")";
      depth--;
    } else if (c === "," && depth > 0) re += "|";
    else re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^(?:${re})$`).test(path);
}

const trimSlashes = (p: string) => p.replace(/^\.?\/+/, "").replace(/\/+$/, "");

/**
 * A file's path relative to an Argo CD directory source's folder, when the source reads it: the
 * file's folder must be the source's path (or below it with `recurse`), matched on the end of either
 * (`clusters/prod/karpenter` is `karpenter` read from `clusters/prod`, and the other way round),
 * since the input is read from a checkout whose root the doctor does not know.
 */
export function pathInSource(source: ArgoApp["sources"][number], file: string): string | undefined {
  const norm = file.replaceAll("\\", "/").replace(/^\.\//, "");
  const slash = norm.lastIndexOf("/");
  const dir = slash < 0 ? "" : norm.slice(0, slash);
  const name = norm.slice(slash + 1);
  const path = trimSlashes(source.path);
  let relDir: string | undefined;
  if (path === "" || path === ".") relDir = dir;
  else if (dir === path || dir.endsWith(`/${path}`) || (dir !== "" && path.endsWith(`/${dir}`))) relDir = "";
  else {
    const i = `/${dir}/`.indexOf(`/${path}/`);
    if (i >= 0) relDir = `/${dir}/`.slice(i + path.length + 2, -1);
  }
  if (relDir === undefined || (relDir !== "" && !source.recurse)) return undefined;
  return relDir === "" ? name : `${relDir}/${name}`;
}

/** Does an Argo CD directory source track this file (its folder, then include and exclude)? */
export function sourceTracksFile(source: ArgoApp["sources"][number], file: string): boolean {
  const rel = pathInSource(source, file);
  if (rel === undefined) return false;
  if (source.include !== undefined && !globMatches(source.include, rel)) return false;
  if (source.exclude !== undefined && globMatches(source.exclude, rel)) return false;
  return true;
}

function argoApp(o: Obj, objects: readonly Obj[]): ArgoApp {
  const sources: ArgoApp["sources"] = [];
  const single = recordAt(o.raw, ["spec", "source"]);
  const list = listAt(o.raw, ["spec", "sources"]);
  const entries: { raw: Raw; at: Segment[] }[] = [];
  if (single !== undefined) entries.push({ raw: single, at: ["spec", "source"] });
  list.forEach((s, i) => {
    if (isRaw(s)) entries.push({ raw: s, at: ["spec", "sources", i] });
  });
  for (const e of entries) {
    // Helm charts and remote repositories: what they render is not in the input.
    if (typeof e.raw.path !== "string" || typeof e.raw.chart === "string") continue;
    const dir = recordAt(e.raw, ["directory"]);
    const source: ArgoApp["sources"][number] = { path: e.raw.path, recurse: dir?.recurse === true, at: e.at };
    if (typeof dir?.include === "string") source.include = dir.include;
    if (typeof dir?.exclude === "string") source.exclude = dir.exclude;
    sources.push(source);
  }
  const namespace = o.namespace ?? "default";
  const tracked = objects.filter((x) => {
    if (x === o) return false;
    // Argo CD's tracking: the label (default method) or the annotation (`<app>:<group>/<kind>:<ns>/<name>`).
    const labels = stringMapAt(x.raw, ["metadata", "labels"]);
    if (labels["app.kubernetes.io/instance"] === o.name) return true;
    const tracking = x.annotations["argocd.argoproj.io/tracking-id"];
    if (tracking?.startsWith(`${o.name}:`) === true) return true;
    return sources.some((s) => sourceTracksFile(s, x.manifest.source));
  });
  return {
    ...o,
    namespace,
    sources,
    tracked,
    selfHeal: at(o.raw, ["spec", "syncPolicy", "automated", "selfHeal"]) === true,
  };
}

/** Builds the graph of an input (once per run). */
export function buildGraph(input: DoctorInput): DoctorGraph {
  const objects: Obj[] = [];
  const index = new Index<Obj>();
  const kinds = new Map<string, Obj[]>();
  for (const m of input.graph.objects) {
    const o = toObj(m);
    if (o === undefined) continue;
    objects.push(o);
    index.set(o.namespace, o.kind, o.name, o);
    const list = kinds.get(o.kind) ?? [];
    list.push(o);
    kinds.set(o.kind, list);
  }
  const byKind = (kind: string) => kinds.get(kind) ?? [];
  const { cluster } = input;

  // NodePools as planned, with their objects and node classes.
  const pools: Pool[] = cluster.nodePools.map((model) => {
    const obj = index.get(undefined, "NodePool", model.name);
    const types = input.instanceTypes[model.name] ?? [];
    const pool: Pool = {
      name: model.name,
      model,
      types,
      ...poolView(model, types),
      consolidates: consolidates(model),
    };
    if (obj !== undefined) pool.obj = obj;
    const className = model.template.nodeClassRef?.name;
    if (className !== undefined) {
      pool.nodeClassName = className;
      const nodeClass = index.get(undefined, "EC2NodeClass", className);
      if (nodeClass !== undefined) pool.nodeClass = nodeClass;
    }
    return pool;
  });
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  const accepts = (c: PodConstraints, pool: Pool, it: InstanceType, o: Offering) =>
    o.available && poolAccepts(pool.model, it, o) && requirementConflict(c, pool.model, it, o) === undefined;
  const compatibleCache = new Map<string, Pool[]>();
  const compatiblePools = (c: PodConstraints): Pool[] => {
    const cached = compatibleCache.get(c.key);
    if (cached !== undefined) return cached;
    const out = pools.filter(
      (pool) =>
        untoleratedPoolTaint(c, pool.model) === undefined &&
        pool.types.some((it) => it.offerings.some((o) => accepts(c, pool, it, o))),
    );
    compatibleCache.set(c.key, out);
    return out;
  };

  // Workloads (controllers that are themselves controlled by one in the input are read through it).
  const workloads: Workload[] = [];
  const workloadIndex = new Index<Workload>();
  const addWorkload = (o: Obj, kind: WorkloadKind): Workload => {
    const templatePath = kind === "Pod" ? [] : (WORKLOAD_TEMPLATE[kind] as Segment[]);
    const written = numberAt(o.raw, ["spec", "replicas"]);
    const count =
      kind === "Deployment" || kind === "StatefulSet" || kind === "ReplicaSet"
        ? (written ?? 1)
        : kind === "Job"
          ? (numberAt(o.raw, ["spec", "parallelism"]) ?? 1)
          : kind === "CronJob"
            ? (numberAt(o.raw, ["spec", "jobTemplate", "spec", "parallelism"]) ?? 1)
            : 1;
    const w: Workload = {
      ...o,
      kind,
      namespace: o.namespace ?? "default",
      templatePath,
      podLabels: stringMapAt(o.raw, [...templatePath, "metadata", "labels"]),
      podAnnotations: stringMapAt(o.raw, [...templatePath, "metadata", "annotations"]),
      replicas: { low: count, high: count },
      pods: [],
      pdbs: [],
      pools: [],
      containers: containersOf(o.raw, templatePath),
      longLived: kind === "Deployment" || kind === "StatefulSet" || kind === "ReplicaSet",
    };
    if (written !== undefined && kind !== "Pod") w.replicasWritten = written;
    workloads.push(w);
    workloadIndex.set(w.namespace, kind, w.name, w);
    return w;
  };
  for (const o of objects) {
    const kind = o.kind as WorkloadKind;
    if (!(kind in WORKLOAD_TEMPLATE)) continue;
    if (o.apiVersion !== "apps/v1" && o.apiVersion !== "batch/v1") continue;
    if (kind === "ReplicaSet" || kind === "Job") {
      const owner = listAt(o.raw, ["metadata", "ownerReferences"]).find(
        (r) => isRaw(r) && r.controller === true,
      ) as Raw | undefined;
      if (
        owner !== undefined &&
        typeof owner.kind === "string" &&
        typeof owner.name === "string" &&
        index.get(o.namespace, owner.kind, owner.name) !== undefined
      )
        continue;
    }
    addWorkload(o, kind);
  }

  // Model pods -> workloads: owner references as Kubernetes' controllers set them (a Deployment's
  // pods through its ReplicaSet `<deployment>-<pod-template-hash>`, a CronJob's through its Jobs), and
  // orphans adopted by a selector, as the loader does. A Pod of the input no workload owns is its own.
  const podOwner = new Map<Pod, Workload>();
  /** Pod workloads by namespace and grouping identity (an owner not in the input, or app and images). */
  const podGroups = new Map<string, Map<string, Workload>>();
  const adopters = workloads.filter(
    (w) => w.kind === "Deployment" || w.kind === "ReplicaSet" || w.kind === "StatefulSet",
  );
  for (const pod of cluster.pods) {
    if (pod.daemonSet) continue;
    let w: Workload | undefined;
    const owner = pod.owner;
    if (owner !== undefined) {
      w = workloadIndex.get(pod.namespace, owner.kind, owner.name);
      const hash = pod.labels["pod-template-hash"];
      if (
        w === undefined &&
        owner.kind === "ReplicaSet" &&
        hash !== undefined &&
        owner.name.endsWith(`-${hash}`)
      )
        w = workloadIndex.get(pod.namespace, "Deployment", owner.name.slice(0, -hash.length - 1));
      if (w === undefined && owner.kind === "ReplicaSet") {
        const rs = index.get(pod.namespace, "ReplicaSet", owner.name);
        const dep = rs && stringAt(listAt(rs.raw, ["metadata", "ownerReferences"])[0], ["name"]);
        if (dep !== undefined) w = workloadIndex.get(pod.namespace, "Deployment", dep);
      }
      if (w === undefined && owner.kind === "Job") {
        const job = index.get(pod.namespace, "Job", owner.name);
        const cron = job && stringAt(listAt(job.raw, ["metadata", "ownerReferences"])[0], ["name"]);
        if (cron !== undefined) w = workloadIndex.get(pod.namespace, "CronJob", cron);
        // A CronJob names its Jobs `<cronjob>-<minutes since the epoch>`.
        const m = /^(.*)-\d+$/.exec(owner.name);
        if (w === undefined && m?.[1] !== undefined) w = workloadIndex.get(pod.namespace, "CronJob", m[1]);
      }
    } else {
      w = adopters.find(
        (a) =>
          a.namespace === pod.namespace &&
          Object.keys(pod.labels).length > 0 &&
          matchesLabelSelector(selectorOf(a), pod.labels),
      );
    }
    if (w === undefined) {
      const podObj = index.get(pod.namespace, "Pod", pod.name);
      if (podObj === undefined || podObj.apiVersion !== "v1") continue;
      // Pods of one controller that is not in the input, or bare pods of one app with the same
      // images, are one workload: one finding for all of them, not one per pod.
      const app = pod.labels["app.kubernetes.io/name"] ?? pod.labels.app ?? pod.labels["k8s-app"];
      const images = containersOf(podObj.raw, [])
        .map((c) => c.image)
        .join(",");
      const key =
        owner !== undefined
          ? `owner:${owner.kind}/${owner.name}`
          : app === undefined
            ? undefined
            : `app:${app}:${images}`;
      const groups = podGroups.get(pod.namespace) ?? new Map<string, Workload>();
      podGroups.set(pod.namespace, groups);
      w = key === undefined ? undefined : groups.get(key);
      if (w === undefined) {
        w = addWorkload(podObj, "Pod");
        w.longLived =
          owner?.kind === "ReplicaSet" || owner?.kind === "StatefulSet" || owner?.kind === "Deployment";
        if (key !== undefined) groups.set(key, w);
      } else {
        w.replicas = { low: w.replicas.low + 1, high: w.replicas.high + 1 };
        (w.alike ??= []).push(podObj);
      }
    }
    w.pods.push(pod);
    podOwner.set(pod, w);
  }
  const dsIndex = new Index<DaemonSet>();
  for (const ds of cluster.daemonSets) dsIndex.set(ds.namespace, "DaemonSet", ds.name, ds);

  // HPAs -> workloads, and the replica range they allow.
  const hpas: Hpa[] = byKind("HorizontalPodAutoscaler").map((o) => {
    const namespace = o.namespace ?? "default";
    const targetKind = stringAt(o.raw, ["spec", "scaleTargetRef", "kind"]) ?? "";
    const targetName = stringAt(o.raw, ["spec", "scaleTargetRef", "name"]) ?? "";
    const hpa: Hpa = {
      ...o,
      namespace,
      targetKind,
      targetName,
      minReplicas: numberAt(o.raw, ["spec", "minReplicas"]) ?? 1,
      maxReplicas: numberAt(o.raw, ["spec", "maxReplicas"]) ?? 1,
    };
    const target = workloadIndex.get(namespace, targetKind, targetName);
    if (target !== undefined) {
      hpa.target = target;
      target.hpa = hpa;
      target.replicas = { low: hpa.minReplicas, high: Math.max(hpa.minReplicas, hpa.maxReplicas) };
    }
    return hpa;
  });

  // Nodes hold pods; pods (or templates) are compatible with pools.
  const nodePool = new Map(cluster.nodes.map((n) => [n.name, n.nodePool]));
  for (const w of workloads) {
    if (w.kind === "DaemonSet") {
      const ds = dsIndex.get(w.namespace, "DaemonSet", w.name);
      if (ds !== undefined) {
        w.daemonSet = ds;
        w.constraints = constraintsOf({ ...ds, volumeRequirements: [] });
      }
      continue;
    }
    const first = w.pods[0];
    if (first !== undefined) w.constraints = constraintsOf(first);
    const names = new Set<string>();
    for (const p of w.pods) {
      const pool = p.nodeName === undefined ? undefined : nodePool.get(p.nodeName);
      if (pool !== undefined) names.add(pool);
    }
    // Pools whose requirements and taints allow the pods and that have an instance type big enough
    // for one of them (a GPU pod does not run on a pool without GPUs).
    if (w.constraints !== undefined && first !== undefined)
      for (const p of compatiblePools(w.constraints))
        if (p.types.some((it) => fits(first.requests, it.allocatable))) names.add(p.name);
    w.pools = pools.filter((p) => names.has(p.name));
  }

  // PDBs -> pods and workloads.
  const podsByNamespace = new Map<string, Pod[]>();
  for (const p of cluster.pods) {
    const list = podsByNamespace.get(p.namespace);
    if (list === undefined) podsByNamespace.set(p.namespace, [p]);
    else list.push(p);
  }
  const pdbModels = new Index<PodDisruptionBudget>();
  for (const p of cluster.podDisruptionBudgets) pdbModels.set(p.namespace, "PodDisruptionBudget", p.name, p);
  const pdbs: Pdb[] = byKind("PodDisruptionBudget").map((o) => {
    const namespace = o.namespace ?? "default";
    const model = pdbModels.get(namespace, "PodDisruptionBudget", o.name);
    const pdb: Pdb = { ...o, namespace, pods: [], workloads: [] };
    if (model === undefined) return pdb;
    pdb.model = model;
    pdb.pods = (podsByNamespace.get(namespace) ?? []).filter(
      (p) => !p.daemonSet && matchesLabelSelector(model.selector, p.labels),
    );
    pdb.workloads = workloads.filter(
      (w) =>
        w.namespace === namespace &&
        w.kind !== "DaemonSet" &&
        Object.keys(w.podLabels).length > 0 &&
        matchesLabelSelector(model.selector, w.podLabels),
    );
    for (const w of pdb.workloads) w.pdbs.push(pdb);
    return pdb;
  });

  const apps = objects
    .filter((o) => o.kind === "Application" && o.apiVersion.startsWith("argoproj.io/"))
    .map((o) => argoApp(o, objects));

  return {
    input,
    objects,
    byKind,
    find: (namespace, kind, name) => index.get(namespace, kind, name),
    workloads,
    hpas,
    pdbs,
    pools,
    poolByName,
    apps,
    workloadOf: (pod) => podOwner.get(pod),
    compatiblePools,
    accepts,
  };
}

/** A workload's pod selector as written (matchLabels and matchExpressions), for adoption. */
function selectorOf(w: Workload) {
  const sel = recordAt(w.raw, ["spec", "selector"]);
  if (sel === undefined) return undefined;
  return {
    matchLabels: stringMapAt(sel, ["matchLabels"]),
    matchExpressions: listAt(sel, ["matchExpressions"])
      .filter(isRaw)
      .map((e) => ({
        key: String(e.key),
        operator: e.operator as "In" | "NotIn" | "Exists" | "DoesNotExist",
        values: Array.isArray(e.values) ? e.values.map(String) : [],
      })),
  };
}
