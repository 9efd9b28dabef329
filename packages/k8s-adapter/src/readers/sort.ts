import { fromZodError, type InputError, type IssuePath } from "@nodeplan/core";
import type { z } from "zod";
import { type ObjectContext, reportError, reportWarning } from "../context.ts";
import type { ReadDocumentsResult } from "../documents.ts";
import { type GraphObject, graphObject, isCustomGroup, type ManifestGraph } from "../graph.ts";
import * as shapes from "../k8s-shapes.ts";
import { isSupportedKind, objectRef, type SupportedKind, supportedKinds } from "../kinds.ts";
import type { KindSchemas } from "../schemas.ts";
import type { LoadWarning, LoadWarningCode } from "../warnings.ts";

/** The wire shape each kind is parsed with (k8s-shapes.ts): what a reader of that kind is given. */
export const kindSchemas = {
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

/** An object of kind K as parsed. */
export type Parsed<K extends SupportedKind> = z.infer<(typeof kindSchemas)[K]>;

/** A parsed object, where it came from (its error sinks), and its graph entry. */
export interface Entry<K extends SupportedKind> {
  ctx: ObjectContext;
  value: Parsed<K>;
  apiVersion: string;
  node: GraphObject;
}

/** The parsed objects of each kind, in input order. */
export type Buckets = { [K in SupportedKind]: Entry<K>[] };

/** An object of a kind the adapter does not read. */
export interface SkippedObject {
  source: string;
  index: IssuePath;
  kind: string;
  name: string;
}

/** What sorting the input gives: objects by kind, the graph, and what was wrong or left out. */
export interface Sorted {
  buckets: Buckets;
  graph: ManifestGraph;
  errors: InputError[];
  warnings: LoadWarning[];
  skipped: SkippedObject[];
  /** Every source (file or stream) the input named. */
  sources: Set<string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The first stage of a load: every object of the input gets its graph entry, is checked against the
 * Kubernetes and Karpenter schemas (unknown fields and kinds), and, when it is of a kind the adapter
 * reads, under an apiVersion it accepts, parsed into its kind's bucket. An object that is not a
 * Kubernetes object, or fails its wire shape, is an error naming it and costs only itself.
 */
export function sortObjects(
  read: ReadDocumentsResult,
  options: { schemas?: KindSchemas | undefined; strict?: boolean | undefined },
): Sorted {
  const sources = new Set<string>();
  for (const d of read.documents) sources.add(d.source);
  for (const n of read.notices) sources.add(n.source);
  for (const e of read.errors) if (e.source !== undefined) sources.add(e.source);
  const errors: InputError[] = [...read.errors];
  const warnings: LoadWarning[] = [];
  const skipped: SkippedObject[] = [];
  const graph: ManifestGraph = { documents: read.documents, objects: [], notices: read.notices };
  const buckets = Object.fromEntries(Object.keys(kindSchemas).map((k) => [k, []])) as unknown as Buckets;

  for (const raw of read.objects) {
    const node = graphObject(raw, graph.objects.length);
    graph.objects.push(node);
    if (!isRecord(raw.value)) {
      node.outcome = "rejected";
      errors.push({
        code: "invalid_schema",
        source: raw.source,
        path: raw.path,
        expected: "a Kubernetes object",
      });
      continue;
    }
    const { kind, apiVersion } = node;
    const object = objectRef(kind ?? "(no kind)", node.namespace, node.name);
    if (kind === undefined || apiVersion === undefined) {
      node.outcome = "rejected";
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
    const ctx: ObjectContext = { source: raw.source, errors, warnings, path: raw.path, object };
    const lookup = options.schemas?.lookup(apiVersion, kind);
    if (lookup?.status === "unknown_kind") {
      node.outcome = options.strict === true ? "rejected" : "ignored";
      node.ignored = "unknown_kind";
      schemaFinding(
        ctx,
        options.strict,
        ["kind"],
        "unknown_kind",
        `"${kind}" in ${apiVersion}`,
        lookup.suggestion,
      );
      continue;
    }
    if (lookup?.status === "known") {
      const unknown = lookup.unknownFields(raw.value);
      for (const path of unknown) schemaFinding(ctx, options.strict, path, "unknown_field", fieldPath(path));
      if (unknown.length > 0 && options.strict === true) {
        node.outcome = "rejected";
        continue;
      }
    }
    if (!isSupportedKind(kind)) {
      node.outcome = "ignored";
      node.ignored =
        lookup?.status === "custom" || isCustomGroup(apiVersion) ? "custom_resource" : "not_used";
      skipped.push({ source: raw.source, index: raw.path, kind, name: node.name ?? "" });
      continue;
    }
    const accepted: readonly string[] = supportedKinds[kind];
    if (!accepted.includes(apiVersion)) {
      node.outcome = "rejected";
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
    const parsed = kindSchemas[kind].safeParse(raw.value);
    if (!parsed.success) {
      node.outcome = "rejected";
      for (const e of fromZodError(parsed.error, { source: raw.source, object, basePath: raw.path }))
        errors.push(e);
      continue;
    }
    node.outcome = "loaded";
    (buckets[kind] as Entry<typeof kind>[]).push({
      ctx,
      value: parsed.data as Parsed<typeof kind>,
      apiVersion,
      node,
    });
  }
  return { buckets, graph, errors, warnings, skipped, sources };
}

/** A field path as kubectl prints it: `spec.containers[0].reque}ts` (keys as written, unquoted). */
function fieldPath(path: IssuePath): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out;
}

/** An unknown field or kind: a warning, or with `strict` an error (the object is then not used). */
function schemaFinding(
  ctx: ObjectContext,
  strict: boolean | undefined,
  path: IssuePath,
  code: Extract<LoadWarningCode, "unknown_field" | "unknown_kind">,
  value: string,
  suggestion?: string,
): void {
  if (strict === true) {
    reportError(ctx, path, {
      code: "unsupported_object",
      expected:
        suggestion === undefined ? "a field or kind of the Kubernetes and Karpenter schemas" : suggestion,
      detail: `${code === "unknown_field" ? "unknown field" : "unknown kind"} (--strict)`,
    });
    return;
  }
  reportWarning(ctx, path, code, value, suggestion);
}

/** Runs `build` for an object; drops its result when it reported an error (an invalid object never loads). */
export function guarded<T>(ctx: ObjectContext, node: GraphObject, build: () => T): T | undefined {
  const before = ctx.errors.length;
  const out = build();
  if (ctx.errors.length === before) return out;
  node.outcome = "rejected";
  return undefined;
}

/** Is a condition of this type True? */
export const isTrue = (conditions: readonly { type: string; status: string }[] | undefined, type: string) =>
  (conditions ?? []).some((c) => c.type === type && c.status === "True");
