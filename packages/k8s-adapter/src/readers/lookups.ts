import type { ClusterState, NodeSelectorRequirement } from "@nodeplan/core";
import { reportWarning } from "../context.ts";
import type { LimitRangeItem } from "../limit-ranges.ts";
import { nodeSelectorTerms } from "../pod-spec.ts";
import type { PodResolvers } from "../pods.ts";
import { persistentVolumeRequirements, type VolumeIndex, volumeRequirements } from "../volumes.ts";
import type { Buckets } from "./sort.ts";

/**
 * What pods and workloads are read against: PriorityClasses, volumes (PersistentVolumes, claims,
 * StorageClasses), LimitRanges and HorizontalPodAutoscalers, as model objects for the cluster and as
 * the lookups the pod readers resolve through.
 */
export interface Lookups {
  resolvers: PodResolvers;
  limitRanges(namespace: string): LimitRangeItem[];
  /** An HPA's bounds on a workload (`Kind/name` in a namespace), if one targets it. */
  hpaBounds(namespace: string, target: string): { min: number; max: number } | undefined;
  model: Pick<
    ClusterState,
    | "priorityClasses"
    | "persistentVolumes"
    | "persistentVolumeClaims"
    | "storageClasses"
    | "horizontalPodAutoscalers"
  >;
}

export function readLookups(buckets: Buckets): Lookups {
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

  return {
    resolvers,
    limitRanges: (ns) => limitRangesByNamespace.get(ns) ?? [],
    hpaBounds: (ns, target) => hpaBounds.get(ns)?.get(target),
    model: {
      priorityClasses,
      persistentVolumes: persistentVolumes.map(({ name, requiredNodeAffinity }) => ({
        name,
        requiredNodeAffinity,
      })),
      persistentVolumeClaims,
      storageClasses: storageClasses.map(({ name, volumeBindingMode, allowedTopologies }) => ({
        name,
        volumeBindingMode,
        allowedTopologies,
      })),
      horizontalPodAutoscalers,
    },
  };
}
