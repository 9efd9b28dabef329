import type {
  IssuePath,
  NodeSelectorTerm,
  Pod,
  PodAffinity,
  ResourceVector,
  Toleration,
  TopologySpreadConstraint,
} from "@nodeplan/core";
import { addResources, CPU_MILLIS, effectiveRequests, MEMORY_BYTES, parseResourceList } from "@nodeplan/core";
import { adoptErrors, type ObjectContext, reportWarning } from "./context.ts";
import type { ContainerShape, PodAffinityTermInput, PodSpecShape } from "./k8s-shapes.ts";

/** The scheduling fields of a model Pod (or DaemonSet) that come from a pod spec. */
export type PodSpecFields = Pick<
  Pod,
  | "requests"
  | "nodeSelector"
  | "requiredNodeAffinity"
  | "preferredNodeAffinity"
  | "podAffinity"
  | "podAntiAffinity"
  | "tolerations"
  | "topologySpreadConstraints"
  | "hostPorts"
>;

function containerResources(
  ctx: ObjectContext,
  container: ContainerShape,
  path: IssuePath,
): { requests: ResourceVector; limits: ResourceVector } {
  const requests = parseResourceList(container.resources?.requests, [...path, "resources", "requests"]);
  const limits = parseResourceList(container.resources?.limits, [...path, "resources", "limits"]);
  adoptErrors(ctx, requests.errors);
  adoptErrors(ctx, limits.errors);
  return { requests: requests.resources, limits: limits.resources };
}

type TermInput = { matchExpressions?: NodeSelectorTerm["matchExpressions"]; matchFields?: unknown[] };

function nodeSelectorTerm(ctx: ObjectContext, term: TermInput, path: IssuePath): NodeSelectorTerm {
  if (term.matchFields !== undefined && term.matchFields.length > 0) {
    reportWarning(ctx, [...path, "matchFields"], "match_fields_ignored");
  }
  return { matchExpressions: term.matchExpressions ?? [] };
}

/** Node selector terms (ORed), as node affinity and PersistentVolume node affinity write them. */
export function nodeSelectorTerms(
  ctx: ObjectContext,
  terms: readonly TermInput[],
  path: IssuePath,
): NodeSelectorTerm[] {
  return terms.map((term, i) => nodeSelectorTerm(ctx, term, [...path, i]));
}

/** Kubernetes: a term with no namespaces and no namespaceSelector means the pod's own namespace. */
function affinityTerm(term: PodAffinityTermInput, namespace: string): PodAffinity["required"][number] {
  const out: PodAffinity["required"][number] = {
    namespaces:
      (term.namespaces ?? []).length === 0 && (term.namespaceSelector ?? undefined) === undefined
        ? [namespace]
        : [...(term.namespaces ?? [])],
    topologyKey: term.topologyKey,
    matchLabelKeys: term.matchLabelKeys ?? [],
    mismatchLabelKeys: term.mismatchLabelKeys ?? [],
  };
  if (term.labelSelector !== null && term.labelSelector !== undefined) out.labelSelector = term.labelSelector;
  if (term.namespaceSelector !== null && term.namespaceSelector !== undefined) {
    out.namespaceSelector = term.namespaceSelector;
  }
  return out;
}

function podAffinity(
  input: NonNullable<NonNullable<PodSpecShape["affinity"]>["podAffinity"]> | undefined,
  namespace: string,
): PodAffinity {
  return {
    required: (input?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) =>
      affinityTerm(t, namespace),
    ),
    preferred: (input?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => ({
      weight: p.weight,
      term: affinityTerm(p.podAffinityTerm, namespace),
    })),
  };
}

function tolerations(input: PodSpecShape["tolerations"]): Toleration[] {
  return (input ?? []).map((t) => {
    const out: Toleration = {};
    if (t.key !== undefined && t.key !== "") out.key = t.key;
    if (t.operator !== undefined) out.operator = t.operator;
    if (t.value !== undefined && t.value !== "") out.value = t.value;
    if (t.effect !== undefined && t.effect !== "") out.effect = t.effect;
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null)
      out.tolerationSeconds = t.tolerationSeconds;
    return out;
  });
}

function spreadConstraints(input: PodSpecShape["topologySpreadConstraints"]): TopologySpreadConstraint[] {
  return (input ?? []).map((c) => {
    const out: TopologySpreadConstraint = {
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      whenUnsatisfiable: c.whenUnsatisfiable,
      // Kubernetes' defaults (KEP-3094): node affinity honoured, taints ignored.
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
      matchLabelKeys: c.matchLabelKeys ?? [],
    };
    if (c.labelSelector !== null && c.labelSelector !== undefined) out.labelSelector = c.labelSelector;
    if (c.minDomains !== null && c.minDomains !== undefined) out.minDomains = c.minDomains;
    return out;
  });
}

/** Host ports of app containers and of sidecars (restartable init containers), which keep running. */
function hostPorts(spec: PodSpecShape): Pod["hostPorts"] {
  const seen = new Set<string>();
  const out: Pod["hostPorts"] = [];
  const running = [
    ...spec.containers,
    ...(spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
  ];
  for (const container of running) {
    for (const port of container.ports ?? []) {
      if (port.hostPort === undefined || port.hostPort === 0) continue;
      const entry = {
        port: port.hostPort,
        protocol: port.protocol ?? "TCP",
        hostIP: port.hostIP ?? "0.0.0.0",
      };
      const key = `${entry.hostIP}/${entry.protocol}/${entry.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(entry);
    }
  }
  return out;
}

/** The resources a pod may set at pod level (component-helpers' supportedPodLevelResources). */
const POD_LEVEL_RESOURCES = [CPU_MILLIS, MEMORY_BYTES] as const;

/**
 * Pod-level resources (KEP-2837, Kubernetes 1.32+): for cpu and memory, a pod-level request replaces
 * the containers' aggregate (PodRequests in k8s.io/component-helpers/resource/helpers.go), and the
 * pod overhead is still added. A pod-level limit without a request defaults the request to the
 * limit when no container requests that resource (SetDefaults_Pod); otherwise the request defaults
 * to the containers' aggregate, which is what `aggregate` already holds.
 */
function withPodLevelResources(
  containers: ResourceVector,
  requests: ResourceVector,
  limits: ResourceVector,
  overhead: ResourceVector,
): ResourceVector {
  const out: ResourceVector = { ...containers };
  for (const key of POD_LEVEL_RESOURCES) {
    const podRequest = requests[key] ?? (containers[key] === undefined ? limits[key] : undefined);
    if (podRequest !== undefined) out[key] = podRequest;
  }
  return addResources(out, overhead);
}

/**
 * Maps a pod spec to the model's scheduling fields; `specPath` is the spec's path inside the object
 * (`["spec"]` for a Pod, `["spec", "template", "spec"]` for a workload). Bad quantities are reported
 * through `ctx` and count as absent.
 */
export function mapPodSpec(
  ctx: ObjectContext,
  spec: PodSpecShape,
  namespace: string,
  specPath: IssuePath,
): PodSpecFields {
  const containers = spec.containers.map((c, i) =>
    containerResources(ctx, c, [...specPath, "containers", i]),
  );
  const initContainers = (spec.initContainers ?? []).map((c, i) => ({
    ...containerResources(ctx, c, [...specPath, "initContainers", i]),
    ...(c.restartPolicy === "Always" ? { restartPolicy: "Always" as const } : {}),
  }));
  const overhead = parseResourceList(spec.overhead, [...specPath, "overhead"]);
  adoptErrors(ctx, overhead.errors);
  const podLevel = {
    requests: parseResourceList(spec.resources?.requests, [...specPath, "resources", "requests"]),
    limits: parseResourceList(spec.resources?.limits, [...specPath, "resources", "limits"]),
  };
  adoptErrors(ctx, podLevel.requests.errors);
  adoptErrors(ctx, podLevel.limits.errors);
  const nodeAffinity = spec.affinity?.nodeAffinity;
  const affinityPath = [...specPath, "affinity", "nodeAffinity"];
  return {
    requests: withPodLevelResources(
      effectiveRequests({ containers, initContainers }),
      podLevel.requests.resources,
      podLevel.limits.resources,
      overhead.resources,
    ),
    nodeSelector: { ...(spec.nodeSelector ?? {}) },
    requiredNodeAffinity: nodeSelectorTerms(
      ctx,
      nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [],
      [...affinityPath, "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"],
    ),
    preferredNodeAffinity: (nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
      (p, i) => ({
        weight: p.weight,
        preference: nodeSelectorTerm(ctx, p.preference, [
          ...affinityPath,
          "preferredDuringSchedulingIgnoredDuringExecution",
          i,
          "preference",
        ]),
      }),
    ),
    podAffinity: podAffinity(spec.affinity?.podAffinity, namespace),
    podAntiAffinity: podAffinity(spec.affinity?.podAntiAffinity, namespace),
    tolerations: tolerations(spec.tolerations),
    topologySpreadConstraints: spreadConstraints(spec.topologySpreadConstraints),
    hostPorts: hostPorts(spec),
  };
}
