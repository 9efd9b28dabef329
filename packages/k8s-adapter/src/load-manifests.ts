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
  parseResourceList,
  type ResourceVector,
} from "@nodeplan/core";
import type { z } from "zod";
import { adoptErrors, type ObjectContext, reportError, reportWarning } from "./context.ts";
import { type ManifestInput, readDocuments } from "./documents.ts";
import * as shapes from "./k8s-shapes.ts";
import { isSupportedKind, objectRef, type SupportedKind, supportedKinds } from "./kinds.ts";
import { applyLimitRanges, type LimitRangeItem } from "./limit-ranges.ts";
import { mergeNodes, type NodeClaimRecord, type NodeRecord } from "./nodes.ts";
import { mapPodSpec, nodeSelectorTerms } from "./pod-spec.ts";
import { mapPod, type PodResolvers } from "./pods.ts";
import { deterministicUid } from "./uid.ts";
import { persistentVolumeRequirements, type VolumeIndex, volumeRequirements } from "./volumes.ts";
import type { LoadWarning } from "./warnings.ts";
import { synthesizePods, type WorkloadRecord } from "./workloads.ts";

/** Options for `loadManifests`. */
export interface LoadOptions {
  /** RFC 3339 time used for objects without a creationTimestamp (synthesized pods of hand-written workloads). */
  now?: string;
  /** Plan for each HPA's maxReplicas instead of the workload's current replicas. */
  maxReplicasFromHpa?: boolean;
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
}

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
type Entry<K extends SupportedKind> = { ctx: ObjectContext; value: Parsed<K>; apiVersion: string };
type Buckets = { [K in SupportedKind]: Entry<K>[] };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const isTrue = (conditions: readonly { type: string; status: string }[] | undefined, type: string) =>
  (conditions ?? []).some((c) => c.type === type && c.status === "True");

/** Runs `build` for an object; drops its result when it reported an error (an invalid object never loads). */
function guarded<T>(ctx: ObjectContext, build: () => T): T | undefined {
  const before = ctx.errors.length;
  const out = build();
  return ctx.errors.length === before ? out : undefined;
}

/**
 * Reads Kubernetes and Karpenter manifests (multi-document YAML, JSON, kubectl `List` dumps) into a
 * cluster state. Every error names its source, path (document index first), object and field, and
 * costs only the object it is in; unknown kinds are listed in `skipped`.
 */
export function loadManifests(inputs: readonly ManifestInput[], options: LoadOptions = {}): LoadResult {
  const read = readDocuments(inputs);
  const errors: InputError[] = [...read.errors];
  const warnings: LoadWarning[] = [];
  const skipped: SkippedObject[] = [];
  const buckets = Object.fromEntries(Object.keys(schemas).map((k) => [k, []])) as unknown as Buckets;
  let fallbackNowUsed = false;
  const now = options.now ?? "1970-01-01T00:00:00Z";

  for (const raw of read.objects) {
    const base = { source: raw.source, errors, warnings };
    if (!isRecord(raw.value)) {
      errors.push({
        code: "invalid_schema",
        source: raw.source,
        path: raw.path,
        expected: "a Kubernetes object",
      });
      continue;
    }
    const kind = str(raw.value.kind);
    const apiVersion = str(raw.value.apiVersion);
    const meta = isRecord(raw.value.metadata) ? raw.value.metadata : {};
    const name = str(meta.name);
    const namespace = str(meta.namespace);
    const object = objectRef(kind ?? "(no kind)", namespace, name);
    if (kind === undefined || apiVersion === undefined) {
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
    if (!isSupportedKind(kind)) {
      skipped.push({ source: raw.source, index: raw.path, kind, name: name ?? "" });
      continue;
    }
    const accepted: readonly string[] = supportedKinds[kind];
    if (!accepted.includes(apiVersion)) {
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
      errors.push(...fromZodError(parsed.error, { source: raw.source, object, basePath: raw.path }));
      continue;
    }
    (buckets[kind] as Entry<typeof kind>[]).push({
      ctx: { ...base, path: raw.path, object },
      value: parsed.data as Parsed<typeof kind>,
      apiVersion,
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
  const hpaMax = new Map<string, number>();
  const horizontalPodAutoscalers = buckets.HorizontalPodAutoscaler.map(({ value }) => {
    const namespace = value.metadata.namespace ?? "default";
    hpaMax.set(
      `${namespace}/${value.spec.scaleTargetRef.kind}/${value.spec.scaleTargetRef.name}`,
      value.spec.maxReplicas,
    );
    return {
      namespace,
      name: value.metadata.name,
      target: { kind: value.spec.scaleTargetRef.kind, name: value.spec.scaleTargetRef.name },
      minReplicas: value.spec.minReplicas ?? 1,
      maxReplicas: value.spec.maxReplicas,
    };
  });

  // Pods present in the input.
  const pods: Pod[] = [];
  for (const { ctx, value } of buckets.Pod) {
    const pod = guarded(ctx, () => mapPod(ctx, value, resolvers, now));
    if (pod === undefined) continue;
    if (value.metadata.uid === undefined) pod.uid = deterministicUid(`${pod.namespace}/${pod.name}`);
    if (value.metadata.creationTimestamp === undefined) fallbackNowUsed = true;
    pods.push(pod);
  }

  // Workloads: template x replicas, unless pods of theirs are present.
  const ownedBy = new Set<string>(); // `namespace/Kind/name` of every pod's controller
  for (const pod of pods) {
    if (pod.owner === undefined) continue;
    ownedBy.add(`${pod.namespace}/${pod.owner.kind}/${pod.owner.name}`);
    // A Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`: matches without the ReplicaSet in the input.
    const hash = pod.labels["pod-template-hash"];
    if (pod.owner.kind === "ReplicaSet" && hash !== undefined && pod.owner.name.endsWith(`-${hash}`)) {
      ownedBy.add(`${pod.namespace}/Deployment/${pod.owner.name.slice(0, -hash.length - 1)}`);
    }
  }
  const controllerKey = (namespace: string, meta: shapes.ObjectMeta) => {
    const owner = meta.ownerReferences?.find((o) => o.controller === true);
    return owner === undefined ? undefined : `${namespace}/${owner.kind}/${owner.name}`;
  };
  const present = new Set<string>();
  for (const kind of ["Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"] as const) {
    for (const { value } of buckets[kind])
      present.add(`${value.metadata.namespace ?? "default"}/${kind}/${value.metadata.name}`);
  }
  // Pods of a ReplicaSet (Job) count as pods of its Deployment (CronJob); a ReplicaSet (Job) whose
  // controller is in the input is planned through that controller.
  const delegated = new Set<string>();
  for (const kind of ["ReplicaSet", "Job"] as const) {
    for (const { value } of buckets[kind]) {
      const ns = value.metadata.namespace ?? "default";
      const parent = controllerKey(ns, value.metadata);
      if (parent === undefined || !present.has(parent)) continue;
      delegated.add(`${ns}/${kind}/${value.metadata.name}`);
      if (ownedBy.has(`${ns}/${kind}/${value.metadata.name}`) || kind === "Job") ownedBy.add(parent);
    }
  }
  const workloads: WorkloadRecord[] = [];
  const replicasFor = (ns: string, kind: string, name: string, replicas: number | undefined) =>
    options.maxReplicasFromHpa === true
      ? (hpaMax.get(`${ns}/${kind}/${name}`) ?? replicas ?? 1)
      : (replicas ?? 1);
  const jobPods = (
    spec: { parallelism?: number | undefined; completions?: number | null | undefined },
    succeeded: number,
  ) => {
    const parallelism = spec.parallelism ?? 1;
    return spec.completions === undefined || spec.completions === null
      ? parallelism
      : Math.max(0, Math.min(parallelism, spec.completions - succeeded));
  };
  for (const kind of ["Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"] as const) {
    for (const { ctx, value } of buckets[kind]) {
      const ns = value.metadata.namespace ?? "default";
      const key = `${ns}/${kind}/${value.metadata.name}`;
      if (ownedBy.has(key) || delegated.has(key)) continue;
      const common = { ctx, kind, metadata: value.metadata, claimTemplates: [] as string[] };
      if (kind === "Job") {
        const job = value as Parsed<"Job">;
        const done = isTrue(job.status?.conditions, "Complete") || isTrue(job.status?.conditions, "Failed");
        const replicas =
          job.spec.suspend === true || done ? 0 : jobPods(job.spec, job.status?.succeeded ?? 0);
        workloads.push({
          ...common,
          template: job.spec.template,
          templatePath: ["spec", "template"],
          replicas,
        });
      } else if (kind === "CronJob") {
        const cron = value as Parsed<"CronJob">;
        const replicas = cron.spec.suspend === true ? 0 : jobPods(cron.spec.jobTemplate.spec, 0);
        workloads.push({
          ...common,
          template: cron.spec.jobTemplate.spec.template,
          templatePath: ["spec", "jobTemplate", "spec", "template"],
          replicas,
        });
      } else {
        const set = value as Parsed<"StatefulSet">;
        workloads.push({
          ...common,
          template: set.spec.template,
          templatePath: ["spec", "template"],
          replicas: replicasFor(ns, kind, value.metadata.name, set.spec.replicas),
          claimTemplates: (set.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
        });
      }
    }
  }
  for (const workload of workloads) {
    const synthesized = guarded(workload.ctx, () =>
      synthesizePods(workload, { resolvers, limitRanges: (ns) => limitRangesByNamespace.get(ns) ?? [], now }),
    );
    if (synthesized === undefined) continue;
    if (synthesized.length > 0 && workload.metadata.creationTimestamp === undefined) fallbackNowUsed = true;
    pods.push(...synthesized);
  }

  // DaemonSets: their pod template is the per-node overhead.
  const daemonSets: DaemonSet[] = [];
  for (const { ctx, value } of buckets.DaemonSet) {
    const namespace = value.metadata.namespace ?? "default";
    const ds = guarded(ctx, () => {
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
  for (const { ctx, value } of buckets.PodDisruptionBudget) {
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
    else
      errors.push(
        ...fromZodError(parsed.error, {
          source: ctx.source,
          object: ctx.object,
          basePath: [...ctx.path, "spec"],
        }),
      );
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
  for (const { ctx, value } of buckets.Node) {
    const record = guarded(ctx, () => ({
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
  for (const { ctx, value } of buckets.NodeClaim) {
    const record = guarded(ctx, () => ({
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
  for (const { ctx, value } of buckets.NodePool) {
    const pool = guarded(ctx, () => mapNodePool(ctx, value, resources));
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
  const cluster = ClusterStateSchema.parse({
    pods,
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
  return { cluster, skipped, errors, warnings, nodePoolUids };
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
