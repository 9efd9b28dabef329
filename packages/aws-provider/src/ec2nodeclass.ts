import { fromZodError, type InputError, InputValidationError, type NodeClassObject } from "@nodeplan/core";
import { z } from "zod";
import type { InstanceMathOptions } from "./allocatable.ts";
import { type AmiFamily, amiFamilies } from "./ami-family.ts";
import { parseQuantityValue } from "./k8s-quantity.ts";

/**
 * karpenter.k8s.aws/v1 EC2NodeClass as a zod schema, with the CRD's validation rules
 * (A: pkg/apis/v1/ec2nodeclass.go x-kubernetes-validations, kubeletconfiguration_validation.go).
 * Fields nodeplan does not read yet (networkInterfaces, placementGroupSelector, cpuOptions, ...)
 * are kept as given.
 */

const tagMap = z
  .record(z.string(), z.string())
  .refine(
    (tags) => Object.entries(tags).every(([k, v]) => k !== "" && v !== ""),
    "empty tag keys or values aren't supported",
  )
  .refine((tags) => Object.keys(tags).length <= 20, "at most 20 tags");

const has = (o: object, key: string): boolean => (o as Record<string, unknown>)[key] !== undefined;

/** A subnet selector term: tags, or an id. */
export const SubnetSelectorTermSchema = z
  .object({
    tags: tagMap.optional(),
    id: z
      .string()
      .regex(/^subnet-[0-9a-z]+$/)
      .optional(),
  })
  .refine((t) => has(t, "tags") || has(t, "id"), "expected at least one, got none, ['tags', 'id']")
  .refine(
    (t) => !(has(t, "id") && has(t, "tags")),
    "'id' is mutually exclusive, cannot be set with a combination of other fields in a subnet selector term",
  );

/** A security group selector term: tags, an id, or a name. */
export const SecurityGroupSelectorTermSchema = z
  .object({
    tags: tagMap.optional(),
    id: z
      .string()
      .regex(/^sg-[0-9a-z]+$/)
      .optional(),
    name: z.string().optional(),
  })
  .refine(
    (t) => has(t, "tags") || has(t, "id") || has(t, "name"),
    "expected at least one, got none, ['tags', 'id', 'name']",
  )
  .refine(
    (t) => !(has(t, "id") && (has(t, "tags") || has(t, "name"))),
    "'id' is mutually exclusive, cannot be set with a combination of other fields in a security group selector term",
  )
  .refine(
    (t) => !(has(t, "name") && (has(t, "tags") || has(t, "id"))),
    "'name' is mutually exclusive, cannot be set with a combination of other fields in a security group selector term",
  );

const aliasFamilies = ["al2", "al2023", "bottlerocket", "windows2019", "windows2022", "windows2025"] as const;
const aliasToFamily: Record<string, AmiFamily> = {
  al2: "AL2",
  al2023: "AL2023",
  bottlerocket: "Bottlerocket",
  windows2019: "Windows2019",
  windows2022: "Windows2022",
  windows2025: "Windows2025",
};

/** `family@version`, e.g. `al2023@latest` or `bottlerocket@v1.20.0`; Windows only `@latest`. */
export const AmiAliasSchema = z
  .string()
  .max(30)
  .regex(/^[a-zA-Z0-9]+@.+$/, "'alias' is improperly formatted, must match the format 'family@version'")
  .refine(
    (a) => (aliasFamilies as readonly string[]).includes(a.split("@")[0] ?? ""),
    "family is not supported, must be one of the following: 'al2', 'al2023', 'bottlerocket', 'windows2019', 'windows2022', 'windows2025'",
  )
  .refine(
    (a) => !(a.startsWith("windows") && a.split("@")[1] !== "latest"),
    "windows families may only specify version 'latest'",
  );

/** An AMI selector term: an alias, or tags/id/name/owner/ssmParameter. */
export const AmiSelectorTermSchema = z
  .object({
    alias: AmiAliasSchema.optional(),
    tags: tagMap.optional(),
    id: z
      .string()
      .regex(/^ami-[0-9a-z]+$/)
      .optional(),
    name: z.string().optional(),
    owner: z.string().optional(),
    ssmParameter: z.string().optional(),
  })
  .refine(
    (t) => ["tags", "id", "name", "alias", "ssmParameter"].some((k) => has(t, k)),
    "expected at least one, got none, ['tags', 'id', 'name', 'alias', 'ssmParameter']",
  )
  .refine(
    (t) => !(has(t, "id") && ["alias", "tags", "name", "owner"].some((k) => has(t, k))),
    "'id' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
  )
  .refine(
    (t) => !(has(t, "alias") && ["id", "tags", "name", "owner"].some((k) => has(t, k))),
    "'alias' is mutually exclusive, cannot be set with a combination of other fields in amiSelectorTerms",
  );

/** A capacity reservation selector term: an id, or tags/ownerID/instanceMatchCriteria. */
export const CapacityReservationSelectorTermSchema = z
  .object({
    tags: tagMap.optional(),
    id: z
      .string()
      .regex(/^cr-[0-9a-z]+$/)
      .optional(),
    ownerID: z
      .string()
      .regex(/^[0-9]{12}$/)
      .optional(),
    instanceMatchCriteria: z.enum(["open", "targeted"]).optional(),
  })
  .refine(
    (t) => has(t, "tags") || has(t, "id") || has(t, "instanceMatchCriteria"),
    "expected at least one, got none, ['tags', 'id', 'instanceMatchCriteria']",
  )
  .refine(
    (t) => !(has(t, "id") && (has(t, "tags") || has(t, "ownerID") || has(t, "instanceMatchCriteria"))),
    "'id' is mutually exclusive, cannot be set along with other fields in a capacity reservation selector term",
  );

const VOLUME_SIZE =
  /^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi|(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|[6][0-3][0-9]{3}|64000)G|([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$/;

/** A block device mapping; `rootVolume` marks the device kubelet's root dir is on. */
export const BlockDeviceMappingSchema = z.object({
  deviceName: z.string().optional(),
  rootVolume: z.boolean().default(false),
  ebs: z
    .object({
      deleteOnTermination: z.boolean().optional(),
      encrypted: z.boolean().optional(),
      iops: z.number().int().min(0).optional(),
      kmsKeyID: z.string().optional(),
      snapshotID: z.string().optional(),
      throughput: z.number().int().min(125).max(1000).optional(),
      volumeInitializationRate: z.number().int().min(100).max(300).optional(),
      volumeSize: z.string().regex(VOLUME_SIZE, "expected a size in Gi, G, Ti or T such as 100Gi").optional(),
      volumeType: z.enum(["standard", "io1", "io2", "gp2", "sc1", "st1", "gp3"]).optional(),
    })
    .refine((e) => has(e, "snapshotID") || has(e, "volumeSize"), "snapshotID or volumeSize must be defined")
    .refine(
      (e) => !has(e, "volumeInitializationRate") || (e.snapshotID ?? "") !== "",
      "snapshotID must be set when volumeInitializationRate is set",
    )
    .optional(),
});

const evictionSignals = [
  "memory.available",
  "nodefs.available",
  "nodefs.inodesFree",
  "imagefs.available",
  "imagefs.inodesFree",
  "pid.available",
] as const;
const reservedResources = ["cpu", "memory", "ephemeral-storage", "pid"] as const;

const thresholdValue = z.string().refine((v) => {
  if (v.endsWith("%")) {
    const p = Number(v.slice(0, -1));
    return v.length > 1 && Number.isFinite(p) && p >= 0 && p <= 100;
  }
  return parseQuantityValue(v, "bytes") !== undefined;
}, "must be a percentage or a non-negative resource quantity");
const thresholdMap = z.partialRecord(z.enum(evictionSignals), thresholdValue);
const reservedMap = z.partialRecord(z.enum(reservedResources), z.string()).superRefine((map, ctx) => {
  for (const [key, value] of Object.entries(map)) {
    const unit = key === "cpu" ? "cpu" : key === "pid" ? "count" : "bytes";
    if (parseQuantityValue(value, unit) === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `${JSON.stringify(value)} must be a non-negative resource quantity (CEL expressions are not supported)`,
      });
    }
  }
});
const goDuration = z
  .string()
  .regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, "must be a duration such as 30s or 1m30s");

/**
 * spec.kubelet: an open map in Karpenter; the fields it reads are typed here, the rest kept.
 * maxPods given as a string (a CEL expression, feature-gated in Karpenter) is rejected.
 */
export const KubeletSchema = z
  .looseObject({
    clusterDNS: z.array(z.string()).optional(),
    maxPods: z
      .number({ message: "must be an integer (CEL expressions are not supported)" })
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    podsPerCore: z.number().int().min(0).optional(),
    systemReserved: reservedMap.optional(),
    kubeReserved: reservedMap.optional(),
    evictionHard: thresholdMap.optional(),
    evictionSoft: thresholdMap.optional(),
    evictionSoftGracePeriod: z.partialRecord(z.enum(evictionSignals), goDuration).optional(),
    evictionMaxPodGracePeriod: z.number().int().min(0).optional(),
    imageGCHighThresholdPercent: z.number().int().min(0).max(100).optional(),
    imageGCLowThresholdPercent: z.number().int().min(0).max(100).optional(),
    cpuCFSQuota: z.boolean().optional(),
  })
  .superRefine((k, ctx) => {
    if (k.registerWithTaints !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["registerWithTaints"],
        message: "can't be set, Karpenter sets it from the NodeClaim's taints",
      });
    }
    const soft = Object.keys(k.evictionSoft ?? {});
    const grace = Object.keys(k.evictionSoftGracePeriod ?? {});
    for (const signal of soft.filter((s) => !grace.includes(s))) {
      ctx.addIssue({
        code: "custom",
        path: ["evictionSoft", signal],
        message: "has no matching evictionSoftGracePeriod",
      });
    }
    for (const signal of grace.filter((s) => !soft.includes(s))) {
      ctx.addIssue({
        code: "custom",
        path: ["evictionSoftGracePeriod", signal],
        message: "has no matching evictionSoft",
      });
    }
    const high = k.imageGCHighThresholdPercent;
    const low = k.imageGCLowThresholdPercent;
    if (high !== undefined && low !== undefined && high <= low) {
      ctx.addIssue({
        code: "custom",
        path: ["imageGCHighThresholdPercent"],
        message: "must be greater than imageGCLowThresholdPercent",
      });
    }
  });

/** Tag keys Karpenter owns (A: labels.go RestrictedTagPatterns plus the CRD rules). */
export const restrictedTagPatterns: readonly RegExp[] = [
  /^kubernetes\.io\/cluster/,
  /^karpenter\.sh\/nodepool$/,
  /^eks:eks-cluster-name$/,
  /^karpenter\.k8s\.aws\/ec2nodeclass$/,
  /^karpenter\.sh\/nodeclaim$/,
];

const tags = z.record(z.string(), z.string()).superRefine((map, ctx) => {
  for (const key of Object.keys(map)) {
    if (key === "") ctx.addIssue({ code: "custom", path: [key], message: "empty tag keys aren't supported" });
    const pattern = restrictedTagPatterns.find((p) => p.test(key));
    if (pattern !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `tag contains a restricted tag matching ${pattern.source}`,
      });
  }
});

/** spec of an EC2NodeClass. */
export const EC2NodeClassSpecSchema = z
  .looseObject({
    subnetSelectorTerms: z
      .array(SubnetSelectorTermSchema)
      .min(1, "subnetSelectorTerms cannot be empty")
      .max(30),
    securityGroupSelectorTerms: z
      .array(SecurityGroupSelectorTermSchema)
      .min(1, "securityGroupSelectorTerms cannot be empty")
      .max(30),
    capacityReservationSelectorTerms: z.array(CapacityReservationSelectorTermSchema).max(30).optional(),
    associatePublicIPAddress: z.boolean().optional(),
    amiSelectorTerms: z
      .array(AmiSelectorTermSchema)
      .min(1)
      .max(30)
      .refine(
        (terms) => !(terms.some((t) => t.alias !== undefined) && terms.length !== 1),
        "'alias' is mutually exclusive, cannot be set with a combination of other amiSelectorTerms",
      ),
    amiFamily: z.enum(amiFamilies).optional(),
    userData: z.string().optional(),
    role: z.string().min(1, "role cannot be empty").optional(),
    instanceProfile: z.string().min(1, "instanceProfile cannot be empty").optional(),
    tags: tags.optional(),
    kubelet: KubeletSchema.optional(),
    blockDeviceMappings: z
      .array(BlockDeviceMappingSchema)
      .max(50)
      .refine(
        (m) => m.filter((d) => d.rootVolume).length <= 1,
        "must have only one blockDeviceMappings with rootVolume",
      )
      .optional(),
    instanceStorePolicy: z.enum(["RAID0"]).optional(),
    detailedMonitoring: z.boolean().optional(),
    metadataOptions: z
      .object({
        httpEndpoint: z.enum(["enabled", "disabled"]).default("enabled"),
        httpProtocolIPv6: z.enum(["enabled", "disabled"]).default("disabled"),
        httpPutResponseHopLimit: z.number().int().min(1).max(64).default(1),
        httpTokens: z.enum(["required", "optional"]).default("required"),
      })
      .default({
        httpEndpoint: "enabled",
        httpProtocolIPv6: "disabled",
        httpPutResponseHopLimit: 1,
        httpTokens: "required",
      }),
    context: z.string().optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.role === undefined) === (spec.instanceProfile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "must specify exactly one of ['role', 'instanceProfile']",
      });
    }
    const alias = spec.amiSelectorTerms.find((t) => t.alias !== undefined)?.alias;
    if (alias === undefined && spec.amiFamily === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["amiFamily"],
        message: "must specify amiFamily if amiSelectorTerms does not contain an alias",
      });
    }
    const aliasFamily = alias === undefined ? undefined : aliasToFamily[alias.split("@")[0] ?? ""];
    if (
      aliasFamily !== undefined &&
      spec.amiFamily !== undefined &&
      spec.amiFamily !== aliasFamily &&
      spec.amiFamily !== "Custom"
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["amiFamily"],
        message: `if set, amiFamily must be '${aliasFamily}' or 'Custom' when using an ${aliasFamily} alias`,
      });
    }
  });

/** A karpenter.k8s.aws/v1 EC2NodeClass. */
export const EC2NodeClassSchema = z.object({
  apiVersion: z.literal("karpenter.k8s.aws/v1"),
  kind: z.literal("EC2NodeClass"),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: EC2NodeClassSpecSchema,
});
/** A validated EC2NodeClass (defaults applied). */
export type EC2NodeClass = z.infer<typeof EC2NodeClassSchema>;
/** An EC2NodeClass as written. */
export type EC2NodeClassInput = z.input<typeof EC2NodeClassSchema>;

/** Validates an EC2NodeClass; throws `InputValidationError` carrying every error with its path. */
export function parseEC2NodeClass(obj: unknown, source?: string): EC2NodeClass {
  const result = EC2NodeClassSchema.safeParse(obj);
  if (result.success) return result.data;
  const name = (obj as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  const context: { source?: string; object?: string } = {};
  if (source !== undefined) context.source = source;
  if (typeof name === "string") context.object = `EC2NodeClass ${name}`;
  const errors: InputError[] = fromZodError(result.error, context);
  throw new InputValidationError(errors);
}

/** The EC2NodeClass of a node class as the adapters load it (core's NodeClassObject), validated. */
export function ec2NodeClassOf(nodeClass: NodeClassObject): EC2NodeClass {
  return parseEC2NodeClass({
    apiVersion: nodeClass.apiVersion,
    kind: nodeClass.kind,
    metadata: { name: nodeClass.name, annotations: nodeClass.annotations },
    spec: nodeClass.spec,
  });
}

/** The AMI family in effect: spec.amiFamily, else the alias's family. */
export function resolvedAmiFamily(nodeClass: EC2NodeClass): AmiFamily {
  if (nodeClass.spec.amiFamily !== undefined) return nodeClass.spec.amiFamily;
  const alias = nodeClass.spec.amiSelectorTerms.find((t) => t.alias !== undefined)?.alias ?? "";
  return aliasToFamily[alias.split("@")[0] ?? ""] ?? "AL2023";
}

/** Operator-level settings that are not part of the EC2NodeClass (Karpenter's controller flags). */
export interface OperatorSettings {
  reservedENIs?: number;
  vmMemoryOverheadPercent?: number;
}

/** The instance-math options an EC2NodeClass (and the operator settings) imply. */
export function instanceMathOptions(
  nodeClass: EC2NodeClass | undefined,
  operator: OperatorSettings = {},
): InstanceMathOptions {
  const options: InstanceMathOptions = { ...operator };
  if (nodeClass === undefined) return options;
  const spec = nodeClass.spec;
  const kubelet = spec.kubelet;
  options.amiFamily = resolvedAmiFamily(nodeClass);
  if (kubelet?.maxPods !== undefined) options.maxPods = kubelet.maxPods;
  if (kubelet?.podsPerCore !== undefined) options.podsPerCore = kubelet.podsPerCore;
  if (kubelet?.kubeReserved !== undefined) options.kubeReserved = kubelet.kubeReserved;
  if (kubelet?.systemReserved !== undefined) options.systemReserved = kubelet.systemReserved;
  if (kubelet?.evictionHard !== undefined) options.evictionHard = kubelet.evictionHard;
  if (kubelet?.evictionSoft !== undefined) options.evictionSoft = kubelet.evictionSoft;
  if (spec.instanceStorePolicy !== undefined) options.instanceStorePolicy = spec.instanceStorePolicy;
  if (spec.blockDeviceMappings !== undefined) {
    options.blockDeviceMappings = spec.blockDeviceMappings.map((m) => {
      const size =
        m.ebs?.volumeSize === undefined ? undefined : parseQuantityValue(m.ebs.volumeSize, "bytes");
      return {
        ...(m.deviceName === undefined ? {} : { deviceName: m.deviceName }),
        rootVolume: m.rootVolume,
        ...(size === undefined ? {} : { volumeSizeBytes: size }),
      };
    });
  }
  return options;
}
