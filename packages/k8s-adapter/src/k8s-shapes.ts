import {
  LabelSelectorSchema,
  NodeSelectorRequirementSchema,
  TaintEffectSchema,
  TimestampSchema,
} from "@nodeplan/core";
import { z } from "zod";

/**
 * The parts of Kubernetes and Karpenter objects the adapter reads, as zod schemas. Fields not listed
 * (status noise, managedFields, ...) are dropped; what is listed is checked, so a wrong type is
 * reported with its path. Quantities stay strings/numbers here and are parsed with their paths later.
 */

const stringMap = z.record(z.string(), z.string());
/** A Kubernetes quantity as written: `500m`, `2Gi`, or a bare number. */
export const QuantityInputSchema = z.union([z.string(), z.number()]);
/** A Kubernetes ResourceList before parsing. */
export const ResourceListInputSchema = z.record(z.string(), QuantityInputSchema);

/** ObjectMeta: the identity fields. */
export const ObjectMetaSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  creationTimestamp: TimestampSchema.optional(),
  deletionTimestamp: TimestampSchema.optional(),
  ownerReferences: z
    .array(
      z.object({
        apiVersion: z.string().optional(),
        kind: z.string(),
        name: z.string(),
        uid: z.string().optional(),
        controller: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

const ContainerSchema = z.object({
  name: z.string().optional(),
  resources: z
    .object({ requests: ResourceListInputSchema.optional(), limits: ResourceListInputSchema.optional() })
    .optional(),
  ports: z
    .array(
      z.object({
        containerPort: z.number().int().optional(),
        hostPort: z.number().int().min(0).max(65535).optional(),
        protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
        hostIP: z.string().optional(),
      }),
    )
    .optional(),
  restartPolicy: z.string().optional(),
});
export type ContainerShape = z.infer<typeof ContainerSchema>;

const NodeSelectorTermInputSchema = z.object({
  matchExpressions: z.array(NodeSelectorRequirementSchema).optional(),
  matchFields: z.array(z.unknown()).optional(),
});

const PodAffinityTermInputSchema = z.object({
  labelSelector: LabelSelectorSchema.nullish(),
  namespaces: z.array(z.string()).optional(),
  namespaceSelector: LabelSelectorSchema.nullish(),
  topologyKey: z.string().min(1),
  matchLabelKeys: z.array(z.string()).optional(),
  mismatchLabelKeys: z.array(z.string()).optional(),
});
export type PodAffinityTermInput = z.infer<typeof PodAffinityTermInputSchema>;

const PodAffinityInputSchema = z.object({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTermInputSchema).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z
    .array(
      z.object({ weight: z.number().int().min(1).max(100), podAffinityTerm: PodAffinityTermInputSchema }),
    )
    .optional(),
});

/** Kubernetes writes "" for "any effect" and "any key"; the model says so with an absent field. */
const TolerationInputSchema = z.object({
  key: z.string().optional(),
  operator: z.enum(["Equal", "Exists"]).optional(),
  value: z.string().optional(),
  effect: z.union([TaintEffectSchema, z.literal("")]).optional(),
  tolerationSeconds: z.number().int().nullish(),
});

const TaintInputSchema = z.object({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: TaintEffectSchema,
});
/** A taint as the API writes it (`timeAdded` dropped). */
export const TaintListSchema = z.array(TaintInputSchema);

/** A pod spec: what scheduling and requests depend on. */
export const PodSpecSchema = z.object({
  containers: z.array(ContainerSchema).min(1),
  /** Pod-level requests and limits (Kubernetes 1.32+, PodLevelResources): cpu and memory. */
  resources: z
    .object({ requests: ResourceListInputSchema.optional(), limits: ResourceListInputSchema.optional() })
    .optional(),
  initContainers: z.array(ContainerSchema).optional(),
  overhead: ResourceListInputSchema.optional(),
  nodeName: z.string().optional(),
  nodeSelector: stringMap.optional(),
  affinity: z
    .object({
      nodeAffinity: z
        .object({
          requiredDuringSchedulingIgnoredDuringExecution: z
            .object({ nodeSelectorTerms: z.array(NodeSelectorTermInputSchema) })
            .optional(),
          preferredDuringSchedulingIgnoredDuringExecution: z
            .array(
              z.object({ weight: z.number().int().min(1).max(100), preference: NodeSelectorTermInputSchema }),
            )
            .optional(),
        })
        .optional(),
      podAffinity: PodAffinityInputSchema.optional(),
      podAntiAffinity: PodAffinityInputSchema.optional(),
    })
    .optional(),
  tolerations: z.array(TolerationInputSchema).optional(),
  topologySpreadConstraints: z
    .array(
      z.object({
        maxSkew: z.number().int().min(1),
        topologyKey: z.string().min(1),
        whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
        labelSelector: LabelSelectorSchema.nullish(),
        minDomains: z.number().int().min(1).nullish(),
        nodeAffinityPolicy: z.enum(["Honor", "Ignore"]).nullish(),
        nodeTaintsPolicy: z.enum(["Honor", "Ignore"]).nullish(),
        matchLabelKeys: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  priorityClassName: z.string().optional(),
  priority: z.number().int().optional(),
  schedulingGates: z.array(z.object({ name: z.string() })).optional(),
  hostNetwork: z.boolean().optional(),
  volumes: z
    .array(
      z.object({
        name: z.string(),
        persistentVolumeClaim: z.object({ claimName: z.string().min(1) }).optional(),
        ephemeral: z.unknown().optional(),
      }),
    )
    .optional(),
});
export type PodSpecShape = z.infer<typeof PodSpecSchema>;

/** A pod template (workloads). */
export const PodTemplateSchema = z.object({
  metadata: z.object({ labels: stringMap.optional(), annotations: stringMap.optional() }).optional(),
  spec: PodSpecSchema,
});
export type PodTemplateShape = z.infer<typeof PodTemplateSchema>;

const ConditionSchema = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
});

/** A Pod. */
export const PodObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: PodSpecSchema,
  status: z
    .object({
      phase: z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]).optional(),
      conditions: z.array(ConditionSchema).optional(),
      nominatedNodeName: z.string().optional(),
      startTime: TimestampSchema.optional(),
    })
    .optional(),
});
export type PodObject = z.infer<typeof PodObjectSchema>;

const replicas = z.number().int().min(0).optional();

/** Deployment and ReplicaSet (same shape for what is read). */
export const ReplicatedObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({ replicas, selector: LabelSelectorSchema.nullish(), template: PodTemplateSchema }),
});

/** StatefulSet: volumeClaimTemplates give each replica its own claim. */
export const StatefulSetObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    replicas,
    selector: LabelSelectorSchema.nullish(),
    template: PodTemplateSchema,
    volumeClaimTemplates: z.array(z.object({ metadata: z.object({ name: z.string().min(1) }) })).optional(),
  }),
});

const JobSpecSchema = z.object({
  parallelism: replicas,
  completions: replicas.nullable(),
  suspend: z.boolean().optional(),
  template: PodTemplateSchema,
});

/** Job. */
export const JobObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: JobSpecSchema,
  status: z
    .object({ succeeded: z.number().int().optional(), conditions: z.array(ConditionSchema).optional() })
    .optional(),
});

/** CronJob. */
export const CronJobObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({ suspend: z.boolean().optional(), jobTemplate: z.object({ spec: JobSpecSchema }) }),
});

/** DaemonSet. */
export const DaemonSetObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({ template: PodTemplateSchema }),
});

const intOrString = z.union([z.number().int().min(0), z.string()]);

/** PodDisruptionBudget (policy/v1). */
export const PdbObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    selector: LabelSelectorSchema.nullish(),
    minAvailable: intOrString.optional(),
    maxUnavailable: intOrString.optional(),
    unhealthyPodEvictionPolicy: z.enum(["IfHealthyBudget", "AlwaysAllow"]).optional(),
  }),
});

/** Node. */
export const NodeObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z
    .object({
      providerID: z.string().optional(),
      taints: TaintListSchema.optional(),
      unschedulable: z.boolean().optional(),
    })
    .optional(),
  status: z
    .object({
      capacity: ResourceListInputSchema.optional(),
      allocatable: ResourceListInputSchema.optional(),
      conditions: z.array(ConditionSchema).optional(),
    })
    .optional(),
});

const NodeClassRefInputSchema = z.object({ group: z.string(), kind: z.string(), name: z.string() });
const NillableDuration = z
  .string()
  .regex(/^(([0-9]+(s|m|h))+|Never)$/, "expected a duration such as 30s, 15m, 720h, or Never");
const Duration = z.string().regex(/^([0-9]+(s|m|h))+$/, "expected a duration such as 30s, 15m or 720h");

/** karpenter.sh/v1 NodeClaim. */
export const NodeClaimObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    requirements: z.array(NodeSelectorRequirementSchema),
    nodeClassRef: NodeClassRefInputSchema,
    taints: TaintListSchema.optional(),
    startupTaints: TaintListSchema.optional(),
    resources: z.object({ requests: ResourceListInputSchema.optional() }).optional(),
    expireAfter: NillableDuration.optional(),
    terminationGracePeriod: Duration.optional(),
  }),
  status: z
    .object({
      providerID: z.string().optional(),
      nodeName: z.string().optional(),
      capacity: ResourceListInputSchema.optional(),
      allocatable: ResourceListInputSchema.optional(),
      conditions: z.array(ConditionSchema).optional(),
    })
    .optional(),
});

/** karpenter.sh/v1 NodePool. */
export const NodePoolObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    weight: z.number().int().min(1).max(100).optional(),
    limits: ResourceListInputSchema.optional(),
    template: z.object({
      metadata: z.object({ labels: stringMap.optional(), annotations: stringMap.optional() }).optional(),
      spec: z.object({
        requirements: z.array(NodeSelectorRequirementSchema).max(100),
        nodeClassRef: NodeClassRefInputSchema,
        taints: TaintListSchema.optional(),
        startupTaints: TaintListSchema.optional(),
        expireAfter: NillableDuration.optional(),
        terminationGracePeriod: Duration.optional(),
      }),
    }),
    disruption: z
      .object({
        consolidationPolicy: z.enum(["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]).optional(),
        consolidateAfter: NillableDuration.optional(),
        budgets: z
          .array(
            z.object({
              nodes: z
                .string()
                .regex(
                  /^((100|[0-9]{1,2})%|[0-9]+)$/,
                  "expected a count such as 5 or a percentage such as 10%",
                ),
              schedule: z.string().optional(),
              duration: z
                .string()
                .regex(
                  /^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$/,
                  "expected minutes or hours such as 10m or 1h30m",
                )
                .optional(),
              reasons: z.array(z.enum(["Empty", "Underutilized", "Drifted"])).optional(),
            }),
          )
          .max(50)
          .refine(
            (budgets) => budgets.every((b) => (b.schedule === undefined) === (b.duration === undefined)),
            {
              message: "'schedule' must be set with 'duration'",
            },
          )
          .optional(),
      })
      .optional(),
  }),
});

/** A node class (EC2NodeClass), kept whole. */
export const NodeClassObjectInputSchema = z.object({ metadata: ObjectMetaSchema, spec: z.unknown() });

/** HorizontalPodAutoscaler (autoscaling/v1 and v2 share what is read). */
export const HpaObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    scaleTargetRef: z.object({ kind: z.string(), name: z.string() }),
    minReplicas: z.number().int().min(0).optional(),
    maxReplicas: z.number().int().min(1),
  }),
});

/** PriorityClass. */
export const PriorityClassObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  value: z.number().int(),
  globalDefault: z.boolean().optional(),
  preemptionPolicy: z.enum(["PreemptLowerPriority", "Never"]).optional(),
});

/** PersistentVolumeClaim. */
export const PvcObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({ storageClassName: z.string().nullish(), volumeName: z.string().optional() }),
});

/** PersistentVolume. */
export const PvObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    nodeAffinity: z
      .object({ required: z.object({ nodeSelectorTerms: z.array(NodeSelectorTermInputSchema) }).optional() })
      .optional(),
    local: z.unknown().optional(),
    hostPath: z.unknown().optional(),
  }),
});

/** StorageClass. */
export const StorageClassObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  volumeBindingMode: z.enum(["Immediate", "WaitForFirstConsumer"]).optional(),
  allowedTopologies: z
    .array(
      z.object({
        matchLabelExpressions: z
          .array(z.object({ key: z.string().min(1), values: z.array(z.string()) }))
          .optional(),
      }),
    )
    .optional(),
});

/** LimitRange. */
export const LimitRangeObjectSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z.object({
    limits: z.array(
      z.object({
        type: z.string(),
        default: ResourceListInputSchema.optional(),
        defaultRequest: ResourceListInputSchema.optional(),
        max: ResourceListInputSchema.optional(),
        min: ResourceListInputSchema.optional(),
      }),
    ),
  }),
});

/** Namespace. */
export const NamespaceObjectSchema = z.object({ metadata: ObjectMetaSchema });
