import { z } from "zod";
import { CostsSchema, NODE_FEE_ANNOTATION, parseFeePerHour } from "./costs.ts";
import { parseDurationMillis, parseNillableDurationMillis } from "./duration.ts";

/**
 * The validated, provider-agnostic model the solver works on. Quantities are already integers
 * (cpuMillis, memoryBytes, ...): adapters parse Kubernetes quantities at the edge. Field names follow
 * Kubernetes where they mean the same thing, shortened where Kubernetes' names are long
 * (`required` for requiredDuringSchedulingIgnoredDuringExecution).
 */

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A resource vector: `cpuMillis`, `memoryBytes`, `ephemeralBytes`, `pods`, and extended resources by name. */
export const ResourcesSchema = z.record(z.string().min(1), safeInt);
/** See `ResourcesSchema`. */
export type ResourceVector = z.infer<typeof ResourcesSchema>;

const labelMap = z.record(z.string(), z.string());

/** RFC 3339 timestamp, as Kubernetes writes them. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/** A Go duration string such as `720h` or `30s`. */
export const DurationSchema = z.string().refine((s) => {
  const ms = parseDurationMillis(s);
  return ms !== null && ms >= 0;
}, "expected a duration such as 30s, 15m or 720h");

/** A Go duration or `Never`. */
export const NillableDurationSchema = z
  .string()
  .refine((s) => parseNillableDurationMillis(s).ok, "expected a duration such as 30s, 15m, 720h, or Never");

/** Node selector operators (Karpenter adds Gte and Lte to Kubernetes' set). */
export const NodeSelectorOperatorSchema = z.enum([
  "In",
  "NotIn",
  "Exists",
  "DoesNotExist",
  "Gt",
  "Lt",
  "Gte",
  "Lte",
]);

const integerValue = /^[+-]?[0-9]+$/;

/**
 * What is wrong with a requirement's values for its operator, or undefined. Gt, Lt, Gte and Lte take
 * exactly one integer (the API server accepts any single string there: `Gt ["v2"]` is an error in the
 * model, not a requirement that throws later), within the safe integers so bounds compare exactly.
 */
export function requirementValuesProblem(
  operator: string,
  values: readonly unknown[],
): { index?: number; expected: string } | undefined {
  if (operator !== "Gt" && operator !== "Lt" && operator !== "Gte" && operator !== "Lte") return undefined;
  if (values.length !== 1) return { expected: `exactly one integer value for ${operator}` };
  const v = values[0];
  if (typeof v !== "string" || !integerValue.test(v) || !Number.isSafeInteger(Number(v)))
    return { index: 0, expected: "an integer between -(2^53-1) and 2^53-1" };
  return undefined;
}

/** One node selector requirement, with Karpenter's optional `minValues`. */
export const NodeSelectorRequirementSchema = z
  .object({
    key: z.string().min(1),
    operator: NodeSelectorOperatorSchema,
    values: z.array(z.string()).default([]),
    minValues: z.number().int().min(1).max(50).optional(),
  })
  .superRefine((r, ctx) => {
    const problem = requirementValuesProblem(r.operator, r.values);
    if (problem !== undefined)
      ctx.addIssue({
        code: "custom",
        path: problem.index === undefined ? ["values"] : ["values", problem.index],
        message: `expected ${problem.expected}`,
        input: problem.index === undefined ? r.values : r.values[problem.index],
      });
  });
export type NodeSelectorRequirement = z.infer<typeof NodeSelectorRequirementSchema>;

/** A node selector term: requirements ANDed. Terms are ORed where a list of them appears. */
export const NodeSelectorTermSchema = z.object({
  matchExpressions: z.array(NodeSelectorRequirementSchema).default([]),
});
export type NodeSelectorTerm = z.infer<typeof NodeSelectorTermSchema>;

/** Kubernetes LabelSelector. */
export const LabelSelectorSchema = z.object({
  matchLabels: labelMap.default({}),
  matchExpressions: z
    .array(
      z.object({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).default([]),
      }),
    )
    .default([]),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

/** Taint effects. */
export const TaintEffectSchema = z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

/** A node taint. */
export const TaintSchema = z.object({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: TaintEffectSchema,
});
export type Taint = z.infer<typeof TaintSchema>;

/** A pod toleration. */
export const TolerationSchema = z.object({
  key: z.string().optional(),
  operator: z.enum(["Equal", "Exists"]).optional(),
  value: z.string().optional(),
  effect: TaintEffectSchema.optional(),
  tolerationSeconds: z.number().int().optional(),
});
export type Toleration = z.infer<typeof TolerationSchema>;

/** A topology spread constraint. */
export const TopologySpreadConstraintSchema = z.object({
  maxSkew: z.number().int().min(1),
  topologyKey: z.string().min(1),
  whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
  labelSelector: LabelSelectorSchema.optional(),
  minDomains: z.number().int().min(1).optional(),
  nodeAffinityPolicy: z.enum(["Honor", "Ignore"]).default("Honor"),
  nodeTaintsPolicy: z.enum(["Honor", "Ignore"]).default("Ignore"),
  matchLabelKeys: z.array(z.string()).default([]),
});
export type TopologySpreadConstraint = z.infer<typeof TopologySpreadConstraintSchema>;

/** A pod (anti-)affinity term. A missing labelSelector matches no pod, as in Kubernetes. */
export const PodAffinityTermSchema = z.object({
  labelSelector: LabelSelectorSchema.optional(),
  namespaces: z.array(z.string()).default([]),
  namespaceSelector: LabelSelectorSchema.optional(),
  topologyKey: z.string().min(1),
  matchLabelKeys: z.array(z.string()).default([]),
  mismatchLabelKeys: z.array(z.string()).default([]),
});
export type PodAffinityTerm = z.infer<typeof PodAffinityTermSchema>;

const weighted = <T extends z.ZodType>(term: T) =>
  z.object({ weight: z.number().int().min(1).max(100), term });

/** Required and preferred pod affinity (or anti-affinity). */
export const PodAffinitySchema = z.object({
  required: z.array(PodAffinityTermSchema).default([]),
  preferred: z.array(weighted(PodAffinityTermSchema)).default([]),
});
export type PodAffinity = z.infer<typeof PodAffinitySchema>;

/** A host port a container binds on its node. */
export const HostPortSchema = z.object({
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  hostIP: z.string().default("0.0.0.0"),
});

/** The owner a pod or object is controlled by. */
export const OwnerReferenceSchema = z.object({
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().default(false),
});

/** A pod: pending (to provision for) or bound to a node (`nodeName`). */
export const PodSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  labels: labelMap.default({}),
  annotations: labelMap.default({}),
  creationTimestamp: TimestampSchema,
  /** Effective requests (Kubernetes' rule, including `pods: 1`). */
  requests: ResourcesSchema,
  nodeSelector: labelMap.default({}),
  /** Required node affinity: terms ORed. Empty = no constraint. */
  requiredNodeAffinity: z.array(NodeSelectorTermSchema).default([]),
  preferredNodeAffinity: z
    .array(z.object({ weight: z.number().int().min(1).max(100), preference: NodeSelectorTermSchema }))
    .default([]),
  podAffinity: PodAffinitySchema.default({ required: [], preferred: [] }),
  podAntiAffinity: PodAffinitySchema.default({ required: [], preferred: [] }),
  tolerations: z.array(TolerationSchema).default([]),
  topologySpreadConstraints: z.array(TopologySpreadConstraintSchema).default([]),
  hostPorts: z.array(HostPortSchema).default([]),
  /** Zone requirements from bound PersistentVolumes and StorageClass topologies (ANDed). */
  volumeRequirements: z.array(NodeSelectorRequirementSchema).default([]),
  priority: z.number().int().default(0),
  owner: OwnerReferenceSchema.optional(),
  /** Set when the pod is bound to a node. */
  nodeName: z.string().optional(),
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]).default("Pending"),
  /** Pending and marked unschedulable by kube-scheduler (or synthesized): a pod to provision for. */
  provisionable: z.boolean().default(true),
  /** A DaemonSet pod (never provisioned for; evicting it never needs a new home). */
  daemonSet: z.boolean().default(false),
  /** A pod being deleted. */
  terminating: z.boolean().default(false),
  startTime: TimestampSchema.optional(),
});
export type Pod = z.infer<typeof PodSchema>;
export type PodInput = z.input<typeof PodSchema>;

/** Capacity types Karpenter knows, in preference order for launches: reserved > spot > on-demand. */
export const CapacityTypeSchema = z.enum(["reserved", "spot", "on-demand"]);
export type CapacityType = z.infer<typeof CapacityTypeSchema>;

/** An offering: where and how an instance type can be launched, at what price. */
export const OfferingSchema = z
  .object({
    zone: z.string().min(1),
    zoneId: z.string().optional(),
    capacityType: CapacityTypeSchema,
    pricePerHour: z.number().min(0),
    available: z.boolean().default(true),
    /** Reserved capacity: how many instances the reservation still has. */
    reservationCapacity: z.number().int().min(0).optional(),
    reservationId: z.string().optional(),
    /** Reserved capacity: the reservation's type (AWS: `default` or `capacity-block`). */
    reservationType: z.string().optional(),
    /**
     * What `pricePerHour` is made of when it includes per-node costs (volumes, public IPv4, burstable
     * credits, fees) besides the instance: its fields sum to `pricePerHour`. Absent: the instance alone.
     */
    costs: CostsSchema.optional(),
  })
  .refine(
    (o) =>
      o.costs === undefined ||
      Math.abs(
        o.costs.instancePerHour +
          o.costs.storagePerHour +
          o.costs.networkPerHour +
          o.costs.burstableCreditsPerHour +
          o.costs.feesPerHour -
          o.pricePerHour,
      ) <=
        1e-9 * Math.max(1, o.pricePerHour),
    { message: "costs must sum to pricePerHour", path: ["costs"] },
  );
export type Offering = z.infer<typeof OfferingSchema>;

/** An instance type as the solver sees it (Karpenter's cloudprovider.InstanceType). */
export const InstanceTypeSchema = z.object({
  name: z.string().min(1),
  /** Single-valued labels a node of this type carries (arch, os, family, ...); zone and capacity type come from offerings. */
  labels: labelMap.default({}),
  capacity: ResourcesSchema,
  /** kube-reserved + system-reserved + eviction threshold, when known. */
  overhead: z
    .object({
      kubeReserved: ResourcesSchema,
      systemReserved: ResourcesSchema,
      evictionThreshold: ResourcesSchema,
    })
    .optional(),
  /** Allocatable = capacity - overhead: what pods (including DaemonSets) can request. */
  allocatable: ResourcesSchema,
  offerings: z.array(OfferingSchema),
  /**
   * A type launched only for pods no other type serves (the AWS provider's exotic filter: bare metal,
   * GPUs and accelerators, special-quota families), so a plan never reaches for one by price alone.
   */
  exotic: z.boolean().optional(),
});
export type InstanceType = z.infer<typeof InstanceTypeSchema>;
export type InstanceTypeInput = z.input<typeof InstanceTypeSchema>;

/** A budget limiting how many nodes may be disrupted at once. */
export const BudgetSchema = z.object({
  nodes: z
    .string()
    .regex(/^((100|[0-9]{1,2})%|[0-9]+)$/, "expected a count such as 5 or a percentage such as 10%"),
  schedule: z.string().optional(),
  duration: DurationSchema.optional(),
  reasons: z.array(z.enum(["Empty", "Underutilized", "Drifted"])).optional(),
});
export type Budget = z.infer<typeof BudgetSchema>;

/** A reference to a provider node class (EC2NodeClass on AWS). */
export const NodeClassRefSchema = z.object({ group: z.string(), kind: z.string(), name: z.string() });

/** A karpenter.sh/v1 NodePool spec. */
export const NodePoolSchema = z.object({
  name: z.string().min(1),
  weight: z.number().int().min(0).max(100).default(0),
  template: z
    .object({
      labels: labelMap.default({}),
      annotations: labelMap.default({}),
      taints: z.array(TaintSchema).default([]),
      startupTaints: z.array(TaintSchema).default([]),
      requirements: z.array(NodeSelectorRequirementSchema).default([]),
      nodeClassRef: NodeClassRefSchema.optional(),
      expireAfter: NillableDurationSchema.default("720h"),
      terminationGracePeriod: DurationSchema.optional(),
    })
    .default({
      labels: {},
      annotations: {},
      taints: [],
      startupTaints: [],
      requirements: [],
      expireAfter: "720h",
    }),
  /** Resource limits (model keys) and `nodes`. */
  limits: ResourcesSchema.default({}),
  disruption: z
    .object({
      consolidationPolicy: z
        .enum(["WhenEmpty", "WhenEmptyOrUnderutilized"])
        .default("WhenEmptyOrUnderutilized"),
      consolidateAfter: NillableDurationSchema.default("0s"),
      budgets: z.array(BudgetSchema).default([{ nodes: "10%" }]),
    })
    .default({
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
      budgets: [{ nodes: "10%" }],
    }),
  /**
   * Annotations on the NodePool object itself (karpenter.sh/nodepool-hash and its version, and
   * `nodeplan.dev/node-fee-per-hour`: a fee every node of the pool pays, in dollars per hour).
   */
  annotations: labelMap.default({}).superRefine((annotations, ctx) => {
    const fee = annotations[NODE_FEE_ANNOTATION];
    if (fee !== undefined && parseFeePerHour(fee) === undefined)
      ctx.addIssue({
        code: "custom",
        path: [NODE_FEE_ANNOTATION],
        message: `${JSON.stringify(fee)} is not an amount in dollars per hour (a decimal such as "0.012")`,
      });
  }),
});
export type NodePool = z.infer<typeof NodePoolSchema>;
export type NodePoolInput = z.input<typeof NodePoolSchema>;

/** An existing node, or an in-flight NodeClaim that has no Node yet (`inFlight`). */
export const NodeSchema = z.object({
  name: z.string().min(1),
  providerID: z.string().optional(),
  nodeClaim: z.string().optional(),
  labels: labelMap.default({}),
  annotations: labelMap.default({}),
  taints: z.array(TaintSchema).default([]),
  capacity: ResourcesSchema.default({}),
  allocatable: ResourcesSchema,
  instanceType: z.string().optional(),
  zone: z.string().optional(),
  capacityType: CapacityTypeSchema.optional(),
  /** The NodePool that manages it; absent = not managed by nodeplan/Karpenter (never disrupted). */
  nodePool: z.string().optional(),
  /** Price per hour when known (from the catalog for its type, zone and capacity type). */
  pricePerHour: z.number().min(0).optional(),
  createdAt: TimestampSchema,
  initialized: z.boolean().default(true),
  ready: z.boolean().default(true),
  deleting: z.boolean().default(false),
  unschedulable: z.boolean().default(false),
  inFlight: z.boolean().default(false),
  /** Last time a pod was bound to or removed from this node (consolidateAfter counts from it). */
  lastPodEventAt: TimestampSchema.optional(),
  /** The NodeClaim's expireAfter at creation (copied from its NodePool). */
  expireAfter: NillableDurationSchema.optional(),
});
export type Node = z.infer<typeof NodeSchema>;
export type NodeInput = z.input<typeof NodeSchema>;

/**
 * A provider's interruption event for one instance (AWS: EventBridge via SQS). The disruption planner
 * turns the forceful kinds into replace-before-delete commands; `rebalance_recommendation` is only
 * recorded unless the caller opts in.
 */
export const InterruptionKindSchema = z.enum([
  "spot_interruption",
  "rebalance_recommendation",
  "scheduled_change",
  "instance_stopping",
  "instance_terminating",
]);
export type InterruptionKind = z.infer<typeof InterruptionKindSchema>;

export const InterruptionEventSchema = z.object({
  kind: InterruptionKindSchema,
  /** The provider's instance id (AWS: i-0123...); matched against the node's providerID. */
  instanceId: z.string().min(1),
  /** When the provider emitted the event. */
  time: TimestampSchema,
  /** When the instance goes away, if the provider says (spot: time + 2 minutes; scheduled change: start). */
  deadline: TimestampSchema.optional(),
  /** The provider's message id, for de-duplication and acknowledgement. */
  id: z.string().min(1),
  /** Free-form detail worth showing (event type code, state). */
  detail: z.string().optional(),
});
export type InterruptionEvent = z.infer<typeof InterruptionEventSchema>;

/** A DaemonSet: its pod template's scheduling constraints and requests. */
export const DaemonSetSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  labels: labelMap.default({}),
  requests: ResourcesSchema,
  nodeSelector: labelMap.default({}),
  requiredNodeAffinity: z.array(NodeSelectorTermSchema).default([]),
  tolerations: z.array(TolerationSchema).default([]),
  priority: z.number().int().default(0),
});
export type DaemonSet = z.infer<typeof DaemonSetSchema>;
export type DaemonSetInput = z.input<typeof DaemonSetSchema>;

const intOrPercent = z.union([z.number().int().min(0), z.string().regex(/^[0-9]+%$/)]);

/** A PodDisruptionBudget. */
export const PodDisruptionBudgetSchema = z
  .object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    selector: LabelSelectorSchema,
    minAvailable: intOrPercent.optional(),
    maxUnavailable: intOrPercent.optional(),
    unhealthyPodEvictionPolicy: z.enum(["IfHealthyBudget", "AlwaysAllow"]).default("IfHealthyBudget"),
  })
  .refine((p) => !(p.minAvailable !== undefined && p.maxUnavailable !== undefined), {
    message: "minAvailable and maxUnavailable cannot both be set",
  });
export type PodDisruptionBudget = z.infer<typeof PodDisruptionBudgetSchema>;

/** A PersistentVolumeClaim (only what volume topology needs). */
export const PersistentVolumeClaimSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  storageClassName: z.string().optional(),
  volumeName: z.string().optional(),
});
/** A PersistentVolume's node affinity (zone topology). */
export const PersistentVolumeSchema = z.object({
  name: z.string().min(1),
  requiredNodeAffinity: z.array(NodeSelectorTermSchema).default([]),
});
/** A StorageClass's binding mode and allowed topologies. */
export const StorageClassSchema = z.object({
  name: z.string().min(1),
  volumeBindingMode: z.enum(["Immediate", "WaitForFirstConsumer"]).default("Immediate"),
  allowedTopologies: z.array(NodeSelectorTermSchema).default([]),
});
/** A PriorityClass. */
export const PriorityClassSchema = z.object({
  name: z.string().min(1),
  value: z.number().int(),
  globalDefault: z.boolean().default(false),
  preemptionPolicy: z.enum(["PreemptLowerPriority", "Never"]).default("PreemptLowerPriority"),
});
export type PersistentVolumeClaim = z.infer<typeof PersistentVolumeClaimSchema>;
export type PersistentVolume = z.infer<typeof PersistentVolumeSchema>;
export type StorageClass = z.infer<typeof StorageClassSchema>;
export type PriorityClass = z.infer<typeof PriorityClassSchema>;

/** A pod's full name as used in every output: `namespace/name`. */
export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** A node class object passed through untouched (EC2NodeClass on AWS); providers validate their own. */
export const NodeClassObjectSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string().min(1),
  spec: z.unknown(),
  annotations: labelMap.default({}),
});
export type NodeClassObject = z.infer<typeof NodeClassObjectSchema>;

/** A HorizontalPodAutoscaler's bounds, so a plan can be made for maxReplicas. */
export const HorizontalPodAutoscalerSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  target: z.object({ kind: z.string(), name: z.string() }),
  minReplicas: z.number().int().min(0).default(1),
  maxReplicas: z.number().int().min(1),
});
export type HorizontalPodAutoscaler = z.infer<typeof HorizontalPodAutoscalerSchema>;

/** Everything known about a cluster: what adapters produce and the solver reads. */
export const ClusterStateSchema = z.object({
  pods: z.array(PodSchema).default([]),
  nodes: z.array(NodeSchema).default([]),
  nodePools: z.array(NodePoolSchema).default([]),
  nodeClasses: z.array(NodeClassObjectSchema).default([]),
  daemonSets: z.array(DaemonSetSchema).default([]),
  podDisruptionBudgets: z.array(PodDisruptionBudgetSchema).default([]),
  persistentVolumeClaims: z.array(PersistentVolumeClaimSchema).default([]),
  persistentVolumes: z.array(PersistentVolumeSchema).default([]),
  storageClasses: z.array(StorageClassSchema).default([]),
  priorityClasses: z.array(PriorityClassSchema).default([]),
  horizontalPodAutoscalers: z.array(HorizontalPodAutoscalerSchema).default([]),
  /** Namespace labels, for namespaceSelector in pod (anti-)affinity. */
  namespaces: z.array(z.object({ name: z.string(), labels: labelMap.default({}) })).default([]),
});
export type ClusterState = z.infer<typeof ClusterStateSchema>;
export type ClusterStateInput = z.input<typeof ClusterStateSchema>;
