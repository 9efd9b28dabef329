import { type ClusterState, ClusterStateSchema, type InputError } from "@nodeplan/core";
import {
  type InputNotice,
  type ManifestInput,
  type ReadDocumentsResult,
  readDocuments,
} from "./documents.ts";
import type { ManifestGraph } from "./graph.ts";
import { readLookups } from "./readers/lookups.ts";
import { readAll, readNodes } from "./readers/objects.ts";
import { readPods } from "./readers/pods.ts";
import { type SkippedObject, sortObjects } from "./readers/sort.ts";
import type { KindSchemas } from "./schemas.ts";
import { type LoadSummary, summarize } from "./summary.ts";
import type { LoadWarning } from "./warnings.ts";

export { MAX_REPLICAS_PER_WORKLOAD } from "./readers/pods.ts";
export type { SkippedObject } from "./readers/sort.ts";

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
  const now = options.now ?? "1970-01-01T00:00:00Z";
  // Stages, each reading what the ones before produced: objects sorted by kind and parsed; the
  // lookups pods resolve through; pods (present, then synthesized from workloads); then the kinds
  // that map one object to one model object (readers/objects.ts).
  const { buckets, graph, errors, warnings, skipped, sources } = sortObjects(read, options);
  const lookups = readLookups(buckets);
  const pods = readPods(buckets, lookups, { now, maxReplicasFromHpa: options.maxReplicasFromHpa });
  const daemonSets = readAll("DaemonSet", buckets, lookups);
  const podDisruptionBudgets = readAll("PodDisruptionBudget", buckets, lookups);
  const nodes = readNodes(buckets, lookups, now);
  const nodePools = readAll("NodePool", buckets, lookups);
  const nodeClasses = readAll("EC2NodeClass", buckets, lookups);
  const namespaces = readAll("Namespace", buckets, lookups);

  // NodeClaims name their NodePool as owner by uid; the model keeps no uids.
  const nodePoolUids: Record<string, string> = {};
  for (const { value, node } of buckets.NodePool)
    if (node.outcome === "loaded" && value.metadata.uid !== undefined)
      nodePoolUids[value.metadata.name] = value.metadata.uid;
  if (pods.nowUsed && options.now === undefined)
    warnings.push({ code: "creation_time_unknown", source: "", path: [], object: "" });
  // Pods were validated as they were made (present pods one by one, replicas through their first).
  const cluster = ClusterStateSchema.parse({
    pods: [],
    nodes,
    nodePools,
    nodeClasses,
    daemonSets,
    podDisruptionBudgets,
    ...lookups.model,
    namespaces,
  });
  cluster.pods = pods.pods;
  const summary = summarize(graph, cluster, sources.size, pods.withoutStatus);
  return { cluster, skipped, errors, warnings, nodePoolUids, notices: read.notices, graph, summary };
}
