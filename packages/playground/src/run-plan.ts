import * as karpenterModels from "@kubernetes-models/karpenter";
import {
  describeFailure,
  disruptionFor,
  type LoadedInputs,
  loadSolver,
  planFor,
  prepareInputs,
  prepareOptions,
  renderLocatedError,
  UsageError,
} from "@nodeplan/cli/prepare";
import {
  type ClusterState,
  CPU_MILLIS,
  type DisruptionPlan,
  EPHEMERAL_BYTES,
  type InstanceType,
  MEMORY_BYTES,
  type Plan,
  PODS,
  type Pod,
  podKey,
} from "@nodeplan/core";
import { type DoctorReport, runDoctor } from "@nodeplan/doctor";
import {
  type KindSchemas,
  type ManifestInput,
  schemasFromModules,
  toNodeClaimManifests,
  toYaml,
} from "@nodeplan/k8s-adapter";
import * as kubernetesModels from "kubernetes-models";

/**
 * The playground's planning run: the CLI's own input preparation and planning (`@nodeplan/cli/prepare`,
 * the browser-safe part of `nodeplan plan` and `nodeplan consolidate`) over texts instead of files, so
 * the page and the CLI give the same plan for the same input; plus the picture of the nodes.
 */

/** What the page asks the worker to plan. */
export interface PlanRequest {
  inputs: ManifestInput[];
  /** RFC 3339; the CLI's `--now`. */
  now: string;
  /** An uploaded catalog JSON (the CLI's `--catalog <file>`); absent = the embedded catalog. */
  catalog?: ManifestInput;
  /** The CLI's `--zones` (comma-separated). */
  zones?: string;
  /** The CLI's `--capacity-types` (comma-separated). */
  capacityTypes?: string;
}

/** One resource of a node: what its pods request of what it can give. */
export interface ResourceUse {
  key: string;
  used: number;
  allocatable: number;
}

/** One node of the picture: existing or planned. */
export interface NodeView {
  name: string;
  isNew: boolean;
  nodePool: string;
  instanceType: string;
  zone: string;
  capacityType: string;
  pricePerHour: number | null;
  resources: ResourceUse[];
  /** Pods already bound to it (DaemonSet pods included). */
  boundPods: string[];
  /** Pending pods the plan puts on it. */
  placedPods: string[];
}

/** What the worker sends back for a plan. */
export interface PlanResult {
  plan: Plan;
  notes: string[];
  /** The one line of what was read, ignored and why (the CLI's last line on stderr). */
  summary: string;
  nodes: NodeView[];
  nodeClaimsYaml: string;
  kernel: string;
  pendingPods: number;
  existingNodes: number;
}

// A request the page cannot plan at all (bad `now`, a catalog that is not a catalog) throws the CLI's
// UsageError; describeFailure turns any failure into the one message shown.
export { describeFailure, type LoadedInputs, renderLocatedError, UsageError as RequestError };

let schemas: KindSchemas | undefined;
/**
 * The Kubernetes and Karpenter schemas, whole: a browser bundle cannot import them kind by kind as
 * the CLI does, so the page carries every kind (unknown fields and kinds are reported the same way).
 */
const allSchemas = async () => {
  schemas ??= schemasFromModules(kubernetesModels, karpenterModels);
  return schemas;
};

/** Reads the manifests and the catalog for every NodePool, as the CLI does (its prepare module). */
export function loadInputs(request: PlanRequest): Promise<LoadedInputs> {
  const options = prepareOptions({
    schemas: allSchemas,
    now: request.now,
    ...(request.zones === undefined ? {} : { zones: request.zones }),
    ...(request.capacityTypes === undefined ? {} : { capacityTypes: request.capacityTypes }),
    names: { now: "now", capacityTypes: "capacity types", catalog: "catalog" },
  });
  return prepareInputs(request.inputs, options, request.catalog ?? "embedded");
}

/** Plans new capacity as `nodeplan plan` does, with the picture of every node after the plan. */
export async function runPlan(request: PlanRequest): Promise<PlanResult> {
  const inputs = await loadInputs(request);
  const { cluster } = inputs;
  const plan = await planFor(inputs);
  return {
    plan,
    notes: inputs.notes,
    summary: inputs.summaryLine,
    nodes: nodeViews(plan, cluster, inputs.instanceTypes),
    nodeClaimsYaml: toYaml(
      toNodeClaimManifests(plan.nodeClaims, { nodePools: cluster.nodePools, pods: cluster.pods }),
    ),
    kernel: (await loadSolver()).kernel,
    pendingPods: plan.placements.length + plan.unschedulable.length,
    existingNodes: cluster.nodes.length,
  };
}

/** What the worker sends back for a consolidation. */
export interface DisruptionResult {
  plan: DisruptionPlan;
  notes: string[];
  /** Existing nodes by name: what each costs and which NodePool and type it is. */
  nodes: Record<
    string,
    { nodePool: string; instanceType: string; pricePerHour: number | null; pods: number }
  >;
}

/** Plans disruption as `nodeplan consolidate --strategy nodeplan` does, at the request's `now`. */
export async function runDisruption(request: PlanRequest): Promise<DisruptionResult> {
  const inputs = await loadInputs(request);
  const { cluster } = inputs;
  const plan = await disruptionFor(inputs, "nodeplan");
  const podCount = new Map<string, number>();
  for (const p of cluster.pods)
    if (p.nodeName !== undefined && occupies(p) && !p.daemonSet)
      podCount.set(p.nodeName, (podCount.get(p.nodeName) ?? 0) + 1);
  const nodes: DisruptionResult["nodes"] = {};
  for (const n of cluster.nodes)
    nodes[n.name] = {
      nodePool: n.nodePool ?? "(not managed)",
      instanceType: n.instanceType ?? "(unknown type)",
      pricePerHour: n.pricePerHour ?? null,
      pods: podCount.get(n.name) ?? 0,
    };
  return { plan, notes: inputs.notes, nodes };
}

/** A pod occupies its node unless it is finished or being deleted. */
const occupies = (p: Pod) => !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";

/** The resources a bar shows: cpu, memory, pods, and the extended resources (GPUs) some pod requests. */
function shownKeys(allocatable: Record<string, number>, requested: ReadonlySet<string>): string[] {
  const extra = Object.keys(allocatable)
    .filter((k) => ![CPU_MILLIS, MEMORY_BYTES, PODS, EPHEMERAL_BYTES].includes(k) && requested.has(k))
    .sort();
  return [CPU_MILLIS, MEMORY_BYTES, PODS, ...extra];
}

/** Every node after the plan, existing then new, with its pods and how full it is. */
export function nodeViews(
  plan: Plan,
  cluster: ClusterState,
  instanceTypes: Record<string, InstanceType[]>,
): NodeView[] {
  const pods = new Map(cluster.pods.map((p) => [podKey(p), p]));
  const requestsOf = (key: string) => pods.get(key)?.requests ?? {};
  const requested = new Set(cluster.pods.flatMap((p) => Object.keys(p.requests)));
  const usage = (allocatable: Record<string, number>, requests: readonly Record<string, number>[]) =>
    shownKeys(allocatable, requested).map((key) => ({
      key,
      allocatable: allocatable[key] ?? 0,
      used: requests.reduce((sum, r) => sum + (r[key] ?? 0), 0),
    }));
  const placed = new Map<string, string[]>();
  // Appends, not copies: a plan of 200,000 pods has nodes of hundreds of pods.
  const append = (map: Map<string, string[]>, key: string, value: string) => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
  };
  for (const p of plan.placements) append(placed, p.node, p.pod);
  const bound = new Map<string, string[]>();
  for (const p of cluster.pods)
    if (p.nodeName !== undefined && occupies(p)) append(bound, p.nodeName, podKey(p));

  const existing: NodeView[] = cluster.nodes.map((n) => {
    const b = bound.get(n.name) ?? [];
    const q = placed.get(n.name) ?? [];
    return {
      name: n.name,
      isNew: false,
      nodePool: n.nodePool ?? "(not managed)",
      instanceType: n.instanceType ?? "(unknown type)",
      zone: n.zone ?? "",
      capacityType: n.capacityType ?? "",
      pricePerHour: n.pricePerHour ?? null,
      resources: usage(n.allocatable, [...b, ...q].map(requestsOf)),
      boundPods: b,
      placedPods: q,
    };
  });
  const added: NodeView[] = plan.nodeClaims.map((c) => {
    const type = (instanceTypes[c.nodePool] ?? []).find((t) => t.name === c.instanceType);
    return {
      name: c.name,
      isNew: true,
      nodePool: c.nodePool,
      instanceType: c.instanceType,
      zone: c.zone,
      capacityType: c.capacityType,
      pricePerHour: c.pricePerHour,
      resources: usage(type?.allocatable ?? {}, [c.daemonSetOverhead, ...c.pods.map(requestsOf)]),
      boundPods: [],
      placedPods: c.pods,
    };
  });
  return [...existing, ...added];
}

/** What the worker sends back for the doctor. */
export interface DoctorResult {
  report: DoctorReport;
  notes: string[];
}

/**
 * Runs `nodeplan doctor` over the request (the same load, catalog and solver as the plan), with the
 * texts so findings carry their lines: the report equals the CLI's `-o json`.
 */
export async function runDoctorRequest(request: PlanRequest): Promise<DoctorResult> {
  const inputs = await loadInputs(request);
  const report = runDoctor(
    { graph: inputs.graph, cluster: inputs.cluster, instanceTypes: inputs.instanceTypes, now: inputs.now },
    { solver: await loadSolver(), texts: inputs.texts },
  );
  return { report, notes: inputs.notes };
}
