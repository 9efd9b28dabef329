import {
  type ClusterState,
  type DaemonSet,
  fromZodError,
  type IssuePath,
  type Node,
  type NodePool,
  NodePoolSchema,
  PodDisruptionBudgetSchema,
  parseResourceList,
  type ResourceVector,
} from "@nodeplan/core";
import { adoptErrors, type ObjectContext, reportError, reportWarning } from "../context.ts";
import { applyLimitRanges } from "../limit-ranges.ts";
import { mergeNodes, type NodeClaimRecord, type NodeRecord } from "../nodes.ts";
import { mapPodSpec } from "../pod-spec.ts";
import type { Lookups } from "./lookups.ts";
import { type Buckets, type Entry, guarded, isTrue, type Parsed } from "./sort.ts";

/**
 * Readers of the kinds that map one object to one model object, each on its own: a table from kind
 * to reader. A reader reports what is wrong through the object's context and returns undefined for an
 * object it cannot use (the object is then marked rejected).
 */
type Reader<K extends keyof Buckets, M> = (entry: Entry<K>, lookups: Lookups) => M | undefined;

const readers: {
  DaemonSet: Reader<"DaemonSet", DaemonSet>;
  PodDisruptionBudget: Reader<"PodDisruptionBudget", ClusterState["podDisruptionBudgets"][number]>;
  NodePool: Reader<"NodePool", NodePool>;
  EC2NodeClass: Reader<"EC2NodeClass", ClusterState["nodeClasses"][number]>;
  Namespace: Reader<"Namespace", ClusterState["namespaces"][number]>;
  Node: Reader<"Node", NodeRecord>;
  NodeClaim: Reader<"NodeClaim", NodeClaimRecord>;
} = {
  // DaemonSets: their pod template is the per-node overhead, with the tolerations the DaemonSet
  // controller adds to every pod.
  DaemonSet({ ctx, value }, lookups) {
    const namespace = value.metadata.namespace ?? "default";
    const spec = {
      ...value.spec.template.spec,
      tolerations: [
        ...(value.spec.template.spec.tolerations ?? []),
        ...daemonSetTolerations(value.spec.template.spec.hostNetwork === true),
      ],
    };
    const limited = applyLimitRanges(spec, lookups.limitRanges(namespace));
    const fields = mapPodSpec(ctx, limited, namespace, ["spec", "template", "spec"]);
    return {
      namespace,
      name: value.metadata.name,
      labels: { ...(value.spec.template.metadata?.labels ?? {}) },
      requests: fields.requests,
      nodeSelector: fields.nodeSelector,
      requiredNodeAffinity: fields.requiredNodeAffinity,
      tolerations: fields.tolerations,
      priority: lookups.resolvers.priority(ctx, limited, ["spec", "template", "spec"]),
    };
  },
  // PDBs are validated against the model too: minAvailable and maxUnavailable are exclusive.
  PodDisruptionBudget({ ctx, value }) {
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
    if (parsed.success) return parsed.data;
    for (const e of fromZodError(parsed.error, {
      source: ctx.source,
      object: ctx.object,
      basePath: [...ctx.path, "spec"],
    }))
      ctx.errors.push(e);
    return undefined;
  },
  NodePool: ({ ctx, value }) => mapNodePool(ctx, value),
  EC2NodeClass: ({ value, apiVersion }) => ({
    apiVersion,
    kind: "EC2NodeClass",
    name: value.metadata.name,
    spec: value.spec,
    annotations: { ...(value.metadata.annotations ?? {}) },
  }),
  Namespace: ({ value }) => ({
    name: value.metadata.name,
    // The API server labels every namespace with its name (namespaceSelector relies on it).
    labels: { "kubernetes.io/metadata.name": value.metadata.name, ...(value.metadata.labels ?? {}) },
  }),
  Node: ({ ctx, value }) => ({
    metadata: value.metadata,
    providerID: value.spec?.providerID,
    taints: (value.spec?.taints ?? []).map(stripTaint),
    unschedulable: value.spec?.unschedulable ?? false,
    capacity: resources(ctx, value.status?.capacity, ["status", "capacity"]),
    allocatable: resources(ctx, value.status?.allocatable, ["status", "allocatable"]),
    ready: isTrue(value.status?.conditions, "Ready"),
  }),
  NodeClaim: ({ ctx, value }) => ({
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
  }),
};

/** Reads every object of a kind in the table; an object whose reader reported an error is left out. */
export function readAll<K extends keyof typeof readers>(
  kind: K,
  buckets: Buckets,
  lookups: Lookups,
): NonNullable<ReturnType<(typeof readers)[K]>>[] {
  const read = readers[kind] as unknown as Reader<K, NonNullable<ReturnType<(typeof readers)[K]>>>;
  const out: NonNullable<ReturnType<(typeof readers)[K]>>[] = [];
  for (const entry of buckets[kind] as Entry<K>[]) {
    const model = guarded(entry.ctx, entry.node, () => read(entry, lookups));
    if (model !== undefined) out.push(model);
    else entry.node.outcome = "rejected";
  }
  return out;
}

/** Nodes and NodeClaims, one node each (matched by providerID, else the NodeClaim relation). */
export function readNodes(buckets: Buckets, lookups: Lookups, now: string): Node[] {
  return mergeNodes(readAll("Node", buckets, lookups), readAll("NodeClaim", buckets, lookups), now);
}

/** A resource list as model quantities; a quantity that does not parse is an error at its path. */
function resources(
  ctx: ObjectContext,
  list: Record<string, string | number> | undefined,
  path: IssuePath,
): ResourceVector {
  const out = parseResourceList(list, path);
  adoptErrors(ctx, out.errors);
  return { ...out.resources };
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

/** A NodePool with the defaults the CRD applies. */
function mapNodePool(ctx: ObjectContext, value: Parsed<"NodePool">): NodePool | undefined {
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
