import type { IssuePath } from "@nodeplan/core";
import type { DocumentRecord, InputNotice, RawObject } from "./documents.ts";

/** Why an object was not used for planning. */
export type IgnoredBecause =
  /** A custom resource (an API group that is not Kubernetes' or Karpenter's): Prometheus, Application. */
  | "custom_resource"
  /** A Kubernetes kind planning does not need: ConfigMap, Service, Role. */
  | "not_used"
  /** Not a kind of its apiVersion in the Kubernetes or Karpenter schemas (a typo such as `]eployment`). */
  | "unknown_kind";

/** One object of the input and what became of it. */
export interface GraphObject {
  /** Position in `ManifestGraph.objects`. */
  id: number;
  source: string;
  /** Document index first, then `items` and the index inside a `List`. */
  path: IssuePath;
  document: number;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  /** The object as written (after YAML parsing): rules read the fields they need from it. */
  raw: unknown;
  /** loaded: in the cluster model; ignored: not used (see `ignored`); rejected: an error names it. */
  outcome: "loaded" | "ignored" | "rejected";
  ignored?: IgnoredBecause;
  /** Pods it put in the model: 1 for a Pod, the synthesized replicas for a workload. */
  pods?: number;
}

/**
 * The object graph of a load: every document read (file, index, kind, raw value), every object with
 * its outcome, and the notices about inputs that were not read. The model objects are the load's
 * `cluster`; model pods name their owner (kind and name), which leads back to the object here.
 */
export interface ManifestGraph {
  documents: DocumentRecord[];
  objects: GraphObject[];
  notices: InputNotice[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The graph entry of a raw object, before it is read (`outcome` is set as it is). */
export function graphObject(raw: RawObject, id: number): GraphObject {
  const node: GraphObject = {
    id,
    source: raw.source,
    path: raw.path,
    document: typeof raw.path[0] === "number" ? raw.path[0] : 0,
    raw: raw.value,
    outcome: "ignored",
  };
  if (typeof raw.value === "object" && raw.value !== null && !Array.isArray(raw.value)) {
    const v = raw.value as Record<string, unknown>;
    const apiVersion = str(v.apiVersion);
    const kind = str(v.kind);
    const meta =
      typeof v.metadata === "object" && v.metadata !== null ? (v.metadata as Record<string, unknown>) : {};
    const name = str(meta.name);
    const namespace = str(meta.namespace);
    if (apiVersion !== undefined) node.apiVersion = apiVersion;
    if (kind !== undefined) node.kind = kind;
    if (name !== undefined) node.name = name;
    if (namespace !== undefined) node.namespace = namespace;
  }
  return node;
}

/**
 * An apiVersion outside Kubernetes' and Karpenter's groups, by the API's naming rule: built-in groups
 * have no dot (apps, batch, policy, autoscaling) or end in `.k8s.io`; Karpenter's are karpenter.sh and
 * karpenter.k8s.aws. Used when no schemas are given to tell custom resources from unused kinds.
 */
export function isCustomGroup(apiVersion: string): boolean {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return false;
  const group = apiVersion.slice(0, slash);
  return (
    group.includes(".") &&
    !group.endsWith(".k8s.io") &&
    group !== "karpenter.sh" &&
    group !== "karpenter.k8s.aws"
  );
}
