import {
  type ClusterState,
  ClusterStateSchema,
  type DaemonSet,
  fromZodError,
  type InputError,
  type IssuePath,
  type NodePool,
  NodePoolSchema,
  type NodeSelectorRequirement,
  type Pod,
  PodDisruptionBudgetSchema,
  PodSchema,
  parseResourceList,
  type ResourceVector,
} from "@nodeplan/core";
import type { z } from "zod";
import { adoptErrors, type ObjectContext, reportError, reportWarning } from "./context.ts";
import {
  type InputNotice,
  type ManifestInput,
  type ReadDocumentsResult,
  readDocuments,
} from "./documents.ts";
import { type GraphObject, graphObject, isCustomGroup, type ManifestGraph } from "./graph.ts";
import * as shapes from "./k8s-shapes.ts";
import { isSupportedKind, objectRef, type SupportedKind, supportedKinds } from "./kinds.ts";
import { applyLimitRanges, type LimitRangeItem } from "./limit-ranges.ts";
import { mergeNodes, type NodeClaimRecord, type NodeRecord } from "./nodes.ts";
import { ObjectKeys, podOwners } from "./ownership.ts";
import { mapPodSpec, nodeSelectorTerms } from "./pod-spec.ts";
import { hasNoStatus, mapPod, type PodResolvers } from "./pods.ts";
import type { KindSchemas } from "./schemas.ts";
import { type LoadSummary, summarize } from "./summary.ts";
import { deterministicUid } from "./uid.ts";
import { persistentVolumeRequirements, type VolumeIndex, volumeRequirements } from "./volumes.ts";
import type { LoadWarning, LoadWarningCode } from "./warnings.ts";
import { synthesizePods, type WorkloadRecord } from "./workloads.ts";

/** Options for `loadManifests`. */
export interface LoadOptions {
  /** RFC 3339 time used for objects without a creationTimestamp (synthesized pods of hand-written workloads). */
  now?: string;
  /** Plan for each HPA's maxReplicas instead of the workload's current replicas. */
  maxReplicasFromHpa?: boolean;
  /**
   * The Kubernetes and Karpenter schemas (`loadSchemas`, `schemasFromModules`): unknown fields and
   * kinds become warnings. Without them, objects are read as they are and unknown kinds are skipped.
   */
  schemas?: KindSchemas;
  /** Unknown fields and kinds are errors, and their objects are not used (kubectl --validate=strict). */
  strict?: boolean;
}

/** An object of a kind the adapter does not read. */
export interface SkippedObject {
  source: string;
  index: IssuePath;
  kind: string;
  name: string;
}

/** What `loadManifests` returns: the cluster, what was skipped, and what was wrong. */
export interface LoadResult {
  cluster: ClusterState;
  skipped: SkippedObject[];
  errors: InputError[];
  warnings: LoadWarning[];
  /** NodePool name -> metadata.uid (NodeClaims name their NodePool as owner; the model keeps no uids). */
  nodePoolUids: Record<string, string>;
  /** Inputs (or documents) that were not read as Kubernetes objects, and why. */
  notices: InputNotice[];
  /** Every document and object read, with what became of it: the object graph rules are written over. */
  graph: ManifestGraph;
  /** Counts of what was read, ignored and rejected (`renderLoadSummary` makes the one line). */
  summary: LoadSummary;
}

/** The most pods one workload may ask for: beyond it, replicas are a mistake (2^31), not a plan. */
export const MAX_REPLICAS_PER_WORKLOAD = 1_000_000;

const schemas = {
  Pod: shapes.PodObjectSchema,
  Deployment: shapes.ReplicatedObjectSchema,
  ReplicaSet: shapes.ReplicatedObjectSchema,
  StatefulSet: shapes.StatefulSetObjectSchema,
  DaemonSet: shapes.DaemonSetObjectSchema,
  Job: shapes.JobObjectSchema,
  CronJob: shapes.CronJobObjectSchema,
  PodDisruptionBudget: shapes.PdbObjectSchema,
  Node: shapes.NodeObjectSchema,
  NodePool: shapes.NodePoolObjectSchema,
  NodeClaim: shapes.NodeClaimObjectSchema,
  EC2NodeClass: shapes.NodeClassObjectInputSchema,
  HorizontalPodAutoscaler: shapes.HpaObjectSchema,
  PriorityClass: shapes.PriorityClassObjectSchema,
  PersistentVolumeClaim: shapes.PvcObjectSchema,
  PersistentVolume: shapes.PvObjectSchema,
  StorageClass: shapes.StorageClassObjectSchema,
  LimitRange: shapes.LimitRangeObjectSchema,
  Namespace: shapes.NamespaceObjectSchema,
} as const satisfies Record<SupportedKind, z.ZodType>;

type Parsed<K extends SupportedKind> = z.infer<(typeof schemas)[K]>;
type Entry<K extends SupportedKind> = {
  ctx: ObjectContext;
  value: Parsed<K>;
  apiVersion: string;
  node: GraphObject;
};
type Buckets = { [K in SupportedKind]: Entry<K>[] };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isTrue = (conditions: readonly { type: string; status: string }[] | undefined, type: string) =>
  (conditions ?? []).some((c) => c.type === type && c.status === "True");

/** Runs `build` for an object; drops its result when it reported an error (an invalid object never loads). */
function guarded<T>(ctx: ObjectContext, node: GraphObject, build: () => T): T | undefined {
  const before = ctx.errors.length;
  const out = build();
  if (ctx.errors.length === before) return out;
  node.outcome = "rejected";
  return undefined;
}

/** A field path as kubectl prints it: `spec.containers[0].reque}ts` (keys as written, unquoted). */
function fieldPath(path: IssuePath): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out;
}

/** An unknown field or kind: a warning, or with `strict` an error (the object is then not used). */
function schemaFinding(
  ctx: ObjectContext,
  strict: boolean | undefined,
  path: IssuePath,
  code: Extract<LoadWarningCode, "unknown_field" | "unknown_kind">,
  value: string,
  suggestion?: string,
): void {
  if (strict === true) {
    reportError(ctx, path, {
      code: "unsupported_object",
      expected:
        suggestion === undefined ? "a field or kind of the Kubernetes and Karpenter schemas" : suggestion,
      detail: `${code === "unknown_field" ? "unknown field" : "unknown kind"} (--strict)`,
    });
    return;
  }
  reportWarning(ctx, path, code, value, suggestion);
}

/**
 * Reads Kubernetes and Karpenter manifests (multi-document YAML, JSON, kubectl `List` dumps) into a
 * cluster state. Every error names its source, path (document index first), object and field, and
 * costs only the object it is in; kinds that are not read are listed in `skipped` and counted in
 * the summary, every object (read or not) is in `graph`.
 */
export function loadManifests(
  inputs: readonly ManifestInput[] | ReadDocumentsResult,
  options: LoadOptions = {},
): LoadResult {
  const read = "objects" in inputs ? inputs : readDocuments(inputs);
  const sources = new Set<string>();
  for (const d of read.documents) sources.add(d.source);
  for (const n of read.notices) sources.add(n.source);
  for (const e of read.errors) if (e.source !== undefined) sources.add(e.source);
  const errors: InputError[] = [...read.errors];
  const warnings: LoadWarning[] = [];
  const skipped: SkippedObject[] = [];
  const graph: ManifestGraph = { documents: read.documents, objects: [], notices: read.notices };
  const buckets = Object.fromEntries(Object.keys(schemas).map((k) => [k, []])) as unknown as Buckets;
  let fallbackNowUsed = false;
  const now = options.now ?? "1970-01-01T00:00:00Z";

  for (const raw of read.objects) {
    const base = { source: raw.source, errors, warnings };
    const node = graphObject(raw, graph.objects.length);
    graph.objects.push(node);
    if (!isRecord(raw.value)) {
      node.outcome = "rejected";
      errors.push({
        code: "invalid_schema",
        source: raw.source,
        path: raw.path,
        expected: "a Kubernetes object",
      });
      continue;
    }
    const { kind, apiVersion } = node;
    const object = objectRef(kind ?? "(no kind)", node.namespace, node.name);
    if (kind === undefined || apiVersion === undefined) {
      node.outcome = "rejected";
      const field = kind === undefined ? "kind" : "apiVersion";
      errors.push({
        code: "invalid_schema",
        source: raw.source,
        path: [...raw.path, field],
        object,
        expected: "a string",
      });
      continue;
    }
    const ctx: ObjectContext = { ...base, path: raw.path, object };
    const lookup = options.schemas?.lookup(apiVersion, kind);
    if (lookup?.status === "unknown_kind") {
      node.outcome = options.strict === true ? "rejected" : "ignored";
      node.ignored = "unknown_kind";
      schemaFinding(
        ctx,
        options.strict,
        ["kind"],
        "unknown_kind",
        `"${kind}" in ${apiVersion}`,
        lookup.suggestion,
      );
      continue;
    }
    if (lookup?.status === "known") {
      const unknown = lookup.unknownFields(raw.value);
      for (const path of unknown) schemaFinding(ctx, options.strict, path, "unknown_field", fieldPath(path));
      if (unknown.length > 0 && options.strict === true) {
        node.outcome = "rejected";
        continue;
      }
    }
    if (!isSupportedKind(kind)) {
      node.outcome = "ignored";
      node.ignored =
        lookup?.status === "custom" || isCustomGroup(apiVersion) ? "custom_resource" : "not_used";
      skipped.push({ source: raw.source, index: raw.path, kind, name: node.name ?? "" });
      continue;
    }
    const accepted: readonly string[] = supportedKinds[kind];
    if (!accepted.includes(apiVersion)) {
      node.outcome = "rejected";
      errors.push({
        code: "unsupported_object",
        source: raw.source,
        path: [...raw.path, "apiVersion"],
        object,
        value: apiVersion,
        expected: accepted.join(" or "),
      });
      continue;
    }
    const parsed = schemas[kind].safeParse(raw.value);
    if (!parsed.success) {
      node.outcome = "rejected";
      for (const e of fromZodError(parsed.error, { source: raw.source, object, basePath: raw.path }))
        errors.push(e);
      continue;
    }
    node.outcome = "loaded";
    (buckets[kind] as Entry<typeof kind>[]).push({
      ctx,
      value: parsed.data as Parsed<typeof kind>,
      apiVersion,
      node,
    });
  }

  // Lookups first: priorities, LimitRanges, volumes, HPAs, ownership.
  const priorityClasses = buckets.PriorityClass.map(({ value }) => ({
    name: value.metadata.name,
    value: value.value,
    globalDefault: value.globalDefault ?? false,
    preemptionPolicy: value.preemptionPolicy ?? "PreemptLowerPriority",
  }));
  const priorityByName = new Map(priorityClasses.map((p) => [p.name, p.value]));
  // Kubernetes uses the lowest-valued global default if several claim to be it.
  const globalDefault = priorityClasses
    .filter((p) => p.globalDefault)
    .reduce<number | undefined>(
      (min, p) => (min === undefined ? p.value : Math.min(min, p.value)),
      undefined,
    );

  const persistentVolumes = buckets.PersistentVolume.map(({ ctx, value }) => ({
    name: value.metadata.name,
    requiredNodeAffinity: nodeSelectorTerms(ctx, value.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [], [
      "spec",
      "nodeAffinity",
      "required",
      "nodeSelectorTerms",
    ]),
    nodeLocal: value.spec.local !== undefined || value.spec.hostPath !== undefined,
  }));
  const storageClasses = buckets.StorageClass.map(({ value }) => ({
    name: value.metadata.name,
    volumeBindingMode: value.volumeBindingMode ?? "Immediate",
    allowedTopologies: (value.allowedTopologies ?? []).map((t) => ({
      matchExpressions: (t.matchLabelExpressions ?? []).map(
        (e): NodeSelectorRequirement => ({ key: e.key, operator: "In", values: [...e.values] }),
      ),
    })),
    isDefault: value.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
  }));
  const persistentVolumeClaims = buckets.PersistentVolumeClaim.map(({ value }) => {
    const claim: ClusterState["persistentVolumeClaims"][number] = {
      namespace: value.metadata.namespace ?? "default",
      name: value.metadata.name,
    };
    if (typeof value.spec.storageClassName === "string") claim.storageClassName = value.spec.storageClassName;
    if (value.spec.volumeName !== undefined && value.spec.volumeName !== "")
      claim.volumeName = value.spec.volumeName;
    return claim;
  });
  const volumeIndex: VolumeIndex = {
    claims: new Map(persistentVolumeClaims.map((c) => [`${c.namespace}/${c.name}`, c])),
    volumes: new Map(
      persistentVolumes.map((v) => [
        v.name,
        persistentVolumeRequirements(v.requiredNodeAffinity, v.nodeLocal),
      ]),
    ),
    storageClasses: new Map(
      storageClasses.map((s) => [s.name, [...(s.allowedTopologies[0]?.matchExpressions ?? [])]]),
    ),
    defaultStorageClass: storageClasses.find((s) => s.isDefault)?.name,
  };

  const resolvers: PodResolvers = {
    priority(ctx, spec, specPath) {
      if (spec.priority !== undefined) return spec.priority;
      const className = spec.priorityClassName;
      if (className === undefined || className === "") return globalDefault ?? 0;
      // Built-in classes exist in every cluster even when a dump leaves them out.
      if (className === "system-node-critical") return priorityByName.get(className) ?? 2_000_001_000;
      if (className === "system-cluster-critical") return priorityByName.get(className) ?? 2_000_000_000;
      const value = priorityByName.get(className);
      if (value === undefined)
        reportWarning(ctx, [...specPath, "priorityClassName"], "priority_class_not_found", className);
      return value ?? 0;
    },
    volumeRequirements(ctx, namespace, claimNames, volumesPath) {
      const result = volumeRequirements(namespace, claimNames, volumeIndex);
      for (const m of result.missing) {
        reportWarning(
          ctx,
          [...volumesPath, m.volumeIndex],
          m.kind === "PersistentVolumeClaim"
            ? "persistent_volume_claim_not_found"
            : "storage_class_not_found",
          m.name,
        );
      }
      return result.requirements;
    },
  };
  const limitRangesByNamespace = new Map<string, LimitRangeItem[]>();
  for (const { value } of buckets.LimitRange) {
    const ns = value.metadata.namespace ?? "default";
    limitRangesByNamespace.set(ns, [...(limitRangesByNamespace.get(ns) ?? []), ...value.spec.limits]);
  }
  // HPA bounds per target (`namespace` -> `Kind/name`): the HPA keeps replicas within them.
  const hpaBounds = new Map<string, Map<string, { min: number; max: number }>>();
  const horizontalPodAutoscalers = buckets.HorizontalPodAutoscaler.map(({ value }) => {
    const namespace = value.metadata.namespace ?? "default";
    const target = `${value.spec.scaleTargetRef.kind}/${value.spec.scaleTargetRef.name}`;
    const bounds = hpaBounds.get(namespace) ?? new Map<string, { min: number; max: number }>();
    bounds.set(target, { min: value.spec.minReplicas ?? 1, max: value.spec.maxReplicas });
    hpaBounds.set(namespace, bounds);
    return {
      namespace,
      name: value.metadata.name,
      target: { kind: value.spec.scaleTargetRef.kind, name: value.spec.scaleTargetRef.name },
      minReplicas: value.spec.minReplicas ?? 1,
      maxReplicas: value.spec.maxReplicas,
    };
  });

  // Pods present in the input. A Pod with no status at all is a manifest, not a cluster dump: it is
  // what kube-scheduler would be given, and without a node it is pending (kube-scheduler marks it
  // Unschedulable when nothing fits, which is what Karpenter waits for).
  const pods: Pod[] = [];
  let withoutStatus = 0;
  const presentPods: { pod: Pod; entry: Entry<"Pod"> }[] = [];
  for (const entry of buckets.Pod) {
    const { ctx, value, node } = entry;
    const pod = guarded(ctx, node, () => mapPod(ctx, value, resolvers, now));
    if (pod === undefined) continue;
    if (value.metadata.uid === undefined) pod.uid = deterministicUid(`${pod.namespace}/${pod.name}`);
    if (value.metadata.creationTimestamp === undefined) fallbackNowUsed = true;
    if (hasNoStatus(value) && pod.provisionable) withoutStatus++;
    pods.push(PodSchema.parse(pod));
    presentPods.push({ pod, entry });
    node.pods = 1;
  }

  // Workloads: template x replicas, unless pods of theirs are present (`kubectl get deploy,po`).
  const workloadKinds = ["Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"] as const;
  const present = new ObjectKeys();
  for (const kind of workloadKinds)
    for (const { value } of buckets[kind])
      present.add(value.metadata.namespace ?? "default", kind, value.metadata.name);
  const ownedBy = podOwners(
    presentPods.map((p) => p.pod),
    workloadKinds.flatMap((kind) =>
      buckets[kind].map(({ value }) => ({
        kind,
        namespace: value.metadata.namespace ?? "default",
        name: value.metadata.name,
        selector: "selector" in value.spec ? value.spec.selector : undefined,
      })),
    ),
  );
  // Pods of a ReplicaSet (Job) count as pods of its Deployment (CronJob); a ReplicaSet (Job) whose
  // controller is in the input is planned through that controller.
  const delegated = new ObjectKeys();
  for (const kind of ["ReplicaSet", "Job"] as const) {
    for (const { value } of buckets[kind]) {
      const ns = value.metadata.namespace ?? "default";
      const owner = value.metadata.ownerReferences?.find((o) => o.controller === true);
      if (owner === undefined || !present.has(ns, owner.kind, owner.name)) continue;
      delegated.add(ns, kind, value.metadata.name);
      if (ownedBy.has(ns, kind, value.metadata.name) || kind === "Job")
        ownedBy.add(ns, owner.kind, owner.name);
    }
  }
  const workloads: { record: WorkloadRecord; node: GraphObject }[] = [];
  /** Replicas as the HPA keeps them (within minReplicas..maxReplicas), or its maxReplicas when asked. */
  const replicasFor = (ns: string, kind: string, name: string, replicas: number | undefined) => {
    const hpa = hpaBounds.get(ns)?.get(`${kind}/${name}`);
    if (hpa === undefined) return replicas ?? 1;
    if (options.maxReplicasFromHpa === true) return hpa.max;
    return Math.min(hpa.max, Math.max(hpa.min, replicas ?? 1));
  };
  const jobPods = (
    spec: { parallelism?: number | undefined; completions?: number | null | undefined },
    succeeded: number,
  ) => {
    const parallelism = spec.parallelism ?? 1;
    return spec.completions === undefined || spec.completions === null
      ? parallelism
      : Math.max(0, Math.min(parallelism, spec.completions - succeeded));
  };
  for (const kind of workloadKinds) {
    for (const { ctx, value, node } of buckets[kind]) {
      const ns = value.metadata.namespace ?? "default";
      if (ownedBy.has(ns, kind, value.metadata.name) || delegated.has(ns, kind, value.metadata.name))
        continue;
      const common = { ctx, kind, metadata: value.metadata, claimTemplates: [] as string[] };
      let record: WorkloadRecord;
      let countPath: IssuePath = ["spec", "replicas"];
      if (kind === "Job") {
        const job = value as Parsed<"Job">;
        const done = isTrue(job.status?.conditions, "Complete") || isTrue(job.status?.conditions, "Failed");
        const replicas =
          job.spec.suspend === true || done ? 0 : jobPods(job.spec, job.status?.succeeded ?? 0);
        record = { ...common, template: job.spec.template, templatePath: ["spec", "template"], replicas };
        countPath = ["spec", "parallelism"];
      } else if (kind === "CronJob") {
        const cron = value as Parsed<"CronJob">;
        const replicas = cron.spec.suspend === true ? 0 : jobPods(cron.spec.jobTemplate.spec, 0);
        record = {
          ...common,
          template: cron.spec.jobTemplate.spec.template,
          templatePath: ["spec", "jobTemplate", "spec", "template"],
          replicas,
        };
        countPath = ["spec", "jobTemplate", "spec", "parallelism"];
      } else {
        const set = value as Parsed<"StatefulSet">;
        record = {
          ...common,
          template: set.spec.template,
          templatePath: ["spec", "template"],
          replicas: replicasFor(ns, kind, value.metadata.name, set.spec.replicas),
          claimTemplates: (set.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
        };
      }
      if (record.replicas > MAX_REPLICAS_PER_WORKLOAD) {
        reportError(ctx, countPath, {
          code: "quantity_out_of_range",
          value: String(record.replicas),
          expected: `at most ${MAX_REPLICAS_PER_WORKLOAD} pods per workload`,
          detail:
            "nodeplan does not plan a workload larger than that (a replica count such as 2^31 is a mistake, not a plan)",
        });
        node.outcome = "rejected";
        continue;
      }
      workloads.push({ record, node });
    }
  }
  for (const { record, node } of workloads) {
    const synthesized = guarded(record.ctx, node, () =>
      synthesizePods(record, { resolvers, limitRanges: (ns) => limitRangesByNamespace.get(ns) ?? [], now }),
    );
    if (synthesized === undefined) continue;
    if (synthesized.length > 0 && record.metadata.creationTimestamp === undefined) fallbackNowUsed = true;
    for (const pod of synthesized) pods.push(pod);
    node.pods = synthesized.length;
  }

  // DaemonSets: their pod template is the per-node overhead.
  const daemonSets: DaemonSet[] = [];
  for (const { ctx, value, node } of buckets.DaemonSet) {
    const namespace = value.metadata.namespace ?? "default";
    const ds = guarded(ctx, node, () => {
      const spec = {
        ...value.spec.template.spec,
        tolerations: [
          ...(value.spec.template.spec.tolerations ?? []),
          ...daemonSetTolerations(value.spec.template.spec.hostNetwork === true),
        ],
      };
      const limited = applyLimitRanges(spec, limitRangesByNamespace.get(namespace) ?? []);
      const fields = mapPodSpec(ctx, limited, namespace, ["spec", "template", "spec"]);
      return {
        namespace,
        name: value.metadata.name,
        labels: { ...(value.spec.template.metadata?.labels ?? {}) },
        requests: fields.requests,
        nodeSelector: fields.nodeSelector,
        requiredNodeAffinity: fields.requiredNodeAffinity,
        tolerations: fields.tolerations,
        priority: resolvers.priority(ctx, limited, ["spec", "template", "spec"]),
      };
    });
    if (ds !== undefined) daemonSets.push(ds);
  }

  // PDBs (validated against the model too: minAvailable and maxUnavailable are exclusive).
  const podDisruptionBudgets: ClusterState["podDisruptionBudgets"] = [];
  for (const { ctx, value, node } of buckets.PodDisruptionBudget) {
    const parsed = PodDisruptionBudgetSchema.safeParse({
      namespace: value.metadata.namespace ?? "default",
      name: value.metadata.name,
      // A PDB with no selector selects no pods (policy/v1).
      selector: value.spec.selector ?? {
        matchExpressions: [{ key: "nodeplan.dev/no-pods", operator: "Exists" }],
      },
      minAvailable: value.spec.minAvailable,
      maxUnavailable: value.spec.maxUnavailable,
      unhealthyPodEvictionPolicy: value.spec.unhealthyPodEvictionPolicy,
    });
    if (parsed.success) podDisruptionBudgets.push(parsed.data);
    else {
      node.outcome = "rejected";
      errors.push(
        ...fromZodError(parsed.error, {
          source: ctx.source,
          object: ctx.object,
          basePath: [...ctx.path, "spec"],
        }),
      );
    }
  }

  // Nodes and NodeClaims.
  const resources = (
    ctx: ObjectContext,
    list: Record<string, string | number> | undefined,
    path: IssuePath,
  ): ResourceVector => {
    const out = parseResourceList(list, path);
    adoptErrors(ctx, out.errors);
    return { ...out.resources };
  };
  const nodeRecords: NodeRecord[] = [];
  for (const { ctx, value, node } of buckets.Node) {
    const record = guarded(ctx, node, () => ({
      metadata: value.metadata,
      providerID: value.spec?.providerID,
      taints: (value.spec?.taints ?? []).map(stripTaint),
      unschedulable: value.spec?.unschedulable ?? false,
      capacity: resources(ctx, value.status?.capacity, ["status", "capacity"]),
      allocatable: resources(ctx, value.status?.allocatable, ["status", "allocatable"]),
      ready: isTrue(value.status?.conditions, "Ready"),
    }));
    if (record !== undefined) nodeRecords.push(record);
  }
  const claimRecords: NodeClaimRecord[] = [];
  for (const { ctx, value, node } of buckets.NodeClaim) {
    const record = guarded(ctx, node, () => ({
      metadata: value.metadata,
      requirements: value.spec.requirements,
      taints: (value.spec.taints ?? []).map(stripTaint),
      providerID: value.status?.providerID,
      nodeName: value.status?.nodeName,
      capacity: resources(ctx, value.status?.capacity, ["status", "capacity"]),
      allocatable: resources(ctx, value.status?.allocatable, ["status", "allocatable"]),
      requests: resources(ctx, value.spec.resources?.requests, ["spec", "resources", "requests"]),
      initialized: isTrue(value.status?.conditions, "Initialized"),
      ready: isTrue(value.status?.conditions, "Ready"),
      expireAfter: value.spec.expireAfter,
    }));
    if (record !== undefined) claimRecords.push(record);
  }
  const nodes = mergeNodes(nodeRecords, claimRecords, now);

  // NodePools, with the defaults the CRD applies.
  const nodePools: NodePool[] = [];
  const nodePoolUids: Record<string, string> = {};
  for (const { ctx, value, node } of buckets.NodePool) {
    const pool = guarded(ctx, node, () => mapNodePool(ctx, value, resources));
    if (pool === undefined) continue;
    nodePools.push(pool);
    if (value.metadata.uid !== undefined) nodePoolUids[pool.name] = value.metadata.uid;
  }

  const nodeClasses = buckets.EC2NodeClass.map(({ value, apiVersion }) => ({
    apiVersion,
    kind: "EC2NodeClass",
    name: value.metadata.name,
    spec: value.spec,
    annotations: { ...(value.metadata.annotations ?? {}) },
  }));
  const namespaces = buckets.Namespace.map(({ value }) => ({
    name: value.metadata.name,
    // The API server labels every namespace with its name (namespaceSelector relies on it).
    labels: { "kubernetes.io/metadata.name": value.metadata.name, ...(value.metadata.labels ?? {}) },
  }));

  if (fallbackNowUsed && options.now === undefined) {
    warnings.push({ code: "creation_time_unknown", source: "", path: [], object: "" });
  }
  // Pods were validated as they were made (present pods one by one, replicas through their first).
  const cluster = ClusterStateSchema.parse({
    pods: [],
    nodes,
    nodePools,
    nodeClasses,
    daemonSets,
    podDisruptionBudgets,
    persistentVolumeClaims,
    persistentVolumes: persistentVolumes.map(({ name, requiredNodeAffinity }) => ({
      name,
      requiredNodeAffinity,
    })),
    storageClasses: storageClasses.map(({ name, volumeBindingMode, allowedTopologies }) => ({
      name,
      volumeBindingMode,
      allowedTopologies,
    })),
    priorityClasses,
    horizontalPodAutoscalers,
    namespaces,
  });
  cluster.pods = pods;
  const notices: InputNotice[] = read.notices;
  const summary: LoadSummary = summarize(graph, cluster, sources.size, withoutStatus);
  return { cluster, skipped, errors, warnings, nodePoolUids, notices, graph, summary };
}

function stripTaint(t: {
  key: string;
  value?: string | undefined;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}) {
  return t.value === undefined || t.value === ""
    ? { key: t.key, effect: t.effect }
    : { key: t.key, value: t.value, effect: t.effect };
}

/** The tolerations the DaemonSet controller adds to every DaemonSet pod (pkg/controller/daemon/util). */
function daemonSetTolerations(hostNetwork: boolean) {
  const t = (key: string, effect: "NoSchedule" | "NoExecute") => ({
    key,
    operator: "Exists" as const,
    effect,
  });
  return [
    t("node.kubernetes.io/not-ready", "NoExecute"),
    t("node.kubernetes.io/unreachable", "NoExecute"),
    t("node.kubernetes.io/disk-pressure", "NoSchedule"),
    t("node.kubernetes.io/memory-pressure", "NoSchedule"),
    t("node.kubernetes.io/pid-pressure", "NoSchedule"),
    t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ...(hostNetwork ? [t("node.kubernetes.io/network-unavailable", "NoSchedule")] : []),
  ];
}

function mapNodePool(
  ctx: ObjectContext,
  value: Parsed<"NodePool">,
  resources: (
    ctx: ObjectContext,
    list: Record<string, string | number> | undefined,
    path: IssuePath,
  ) => ResourceVector,
): NodePool | undefined {
  const { spec } = value;
  const template = spec.template;
  let policy = spec.disruption?.consolidationPolicy ?? "WhenEmptyOrUnderutilized";
  if (policy === "Balanced") {
    reportWarning(
      ctx,
      ["spec", "disruption", "consolidationPolicy"],
      "consolidation_policy_unsupported",
      policy,
    );
    policy = "WhenEmptyOrUnderutilized";
  }
  const input = {
    name: value.metadata.name,
    weight: spec.weight ?? 0,
    template: {
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: { ...(template.metadata?.annotations ?? {}) },
      taints: (template.spec.taints ?? []).map(stripTaint),
      startupTaints: (template.spec.startupTaints ?? []).map(stripTaint),
      requirements: template.spec.requirements,
      nodeClassRef: template.spec.nodeClassRef,
      expireAfter: template.spec.expireAfter ?? "720h",
      ...(template.spec.terminationGracePeriod === undefined
        ? {}
        : { terminationGracePeriod: template.spec.terminationGracePeriod }),
    },
    limits: resources(ctx, spec.limits, ["spec", "limits"]),
    disruption: {
      consolidationPolicy: policy,
      consolidateAfter: spec.disruption?.consolidateAfter ?? "0s",
      budgets: spec.disruption?.budgets ?? [{ nodes: "10%" }],
    },
    annotations: { ...(value.metadata.annotations ?? {}) },
  };
  const parsed = NodePoolSchema.safeParse(input);
  if (!parsed.success) {
    for (const e of fromZodError(parsed.error))
      reportError(ctx, ["spec"], { code: e.code, detail: `${e.path.join(".")}: ${e.detail ?? ""}` });
    return undefined;
  }
  return parsed.data;
}
