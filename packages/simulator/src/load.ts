import {
  type ClusterState,
  type InputError,
  type InstanceType,
  type LabelSelector,
  type Pod,
  podKey,
} from "@nodeplan/core";
import { loadManifests, type ManifestInput, readDocuments } from "@nodeplan/k8s-adapter";
import { z } from "zod";
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, type HpaSpec, type ScalingRules } from "./autoscaling.ts";
import { hash32 } from "./rng.ts";
import { type Scenario, ScenarioError } from "./scenario.ts";
import type { IntOrPercent } from "./workloads.ts";

/**
 * From manifests to what the simulation runs. The cluster itself (nodes, pods, NodePools, DaemonSets,
 * PDBs) is read by the host exactly as `nodeplan plan` reads it (the CLI's prepareInputs); this module
 * reads what planning does not need: each Deployment's and StatefulSet's rollout settings and pod
 * template, and each HPA's target and behavior. Templates are read by the same loader: the workload with
 * one replica, its namespace's LimitRanges and PriorityClasses around it, becomes one model pod.
 */

/** The cluster as the host loaded it. */
export interface LoadedCluster {
  cluster: ClusterState;
  instanceTypes: Record<string, InstanceType[]>;
}

/** A workload the simulation runs. */
export interface WorkloadSpec {
  kind: "Deployment" | "StatefulSet";
  namespace: string;
  name: string;
  key: string;
  selector: LabelSelector;
  replicas: number;
  template: Pod;
  revision: string;
  strategy: { type: "RollingUpdate" | "Recreate"; maxSurge: IntOrPercent; maxUnavailable: IntOrPercent };
  podManagementPolicy: "OrderedReady" | "Parallel";
  partition: number;
  minReadySeconds: number;
  terminationGraceSeconds: number;
  /** The object as written (patched), for template changes. */
  raw: Record<string, unknown>;
  /** Not in the input: the ReplicaSet a dump's pods name as their owner. */
  implicit: boolean;
}

/** Workloads, HPAs and which present pod belongs to which workload. */
export interface Workloads {
  workloads: WorkloadSpec[];
  hpas: HpaSpec[];
  /** Pod `ns/name` -> workload key. */
  owners: Map<string, string>;
  /** Makes a new template for a workload (a Git commit changing its image or requests). */
  retemplate(
    w: WorkloadSpec,
    change: { image?: string; requests?: Record<string, string | number> },
  ): {
    raw: Record<string, unknown>;
    template: Pod;
    revision: string;
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Kinds a template needs around it: they change what the loader makes of a pod spec. */
const CONTEXT_KINDS = new Set([
  "Namespace",
  "LimitRange",
  "PriorityClass",
  "PersistentVolumeClaim",
  "PersistentVolume",
  "StorageClass",
]);

/** Applies the scenario's patches (JSON merge patches, or deletions) to the objects of the texts. */
export function applyPatches(
  texts: readonly ManifestInput[],
  patches: Scenario["spec"]["patches"],
): ManifestInput[] {
  if (patches.length === 0) return [...texts];
  const matched = patches.map(() => 0);
  const out: ManifestInput[] = [];
  for (const text of texts) {
    const read = readDocuments([text]);
    let touched = false;
    const items: unknown[] = [];
    for (const o of read.objects) {
      let value: unknown = o.value;
      let keep = true;
      for (const [i, p] of patches.entries()) {
        if (!targets(p.target, value)) continue;
        matched[i] = (matched[i] as number) + 1;
        touched = true;
        if (p.delete === true) keep = false;
        else value = mergePatch(value, p.patch);
      }
      if (keep) items.push(value);
    }
    out.push(
      touched
        ? { source: text.source, text: JSON.stringify({ apiVersion: "v1", kind: "List", items }) }
        : text,
    );
  }
  const unused = matched.indexOf(0);
  if (unused >= 0) {
    const t = patches[unused]?.target;
    throw new ScenarioError("scenario", [
      {
        code: "invalid_reference",
        path: ["spec", "patches", unused, "target"],
        detail: `no object matches ${JSON.stringify(t)}`,
      },
    ]);
  }
  return out;
}

function targets(t: Scenario["spec"]["patches"][number]["target"], value: unknown): boolean {
  if (!isRecord(value) || value.kind !== t.kind) return false;
  const meta = isRecord(value.metadata) ? value.metadata : {};
  if (t.name !== undefined && meta.name !== t.name) return false;
  if (t.namespace !== undefined && (meta.namespace ?? "default") !== t.namespace) return false;
  if (t.labels !== undefined) {
    const labels = isRecord(meta.labels) ? meta.labels : {};
    for (const [k, v] of Object.entries(t.labels)) if (labels[k] !== v) return false;
  }
  return true;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const intOrPercent = z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]);
/** A workload's pod template as the simulator reads it beside the loader: its grace period. */
const podTemplateGrace = z
  .object({
    spec: z.object({ terminationGracePeriodSeconds: z.number().int().min(0).optional() }).passthrough(),
  })
  .passthrough();
const DeploymentExtras = z
  .object({
    spec: z
      .object({
        replicas: z.number().int().min(0).optional(),
        minReadySeconds: z.number().int().min(0).optional(),
        strategy: z
          .object({
            type: z.enum(["RollingUpdate", "Recreate"]).optional(),
            rollingUpdate: z
              .object({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
              .optional(),
          })
          .optional(),
        selector: z.object({}).passthrough().optional(),
        template: podTemplateGrace,
      })
      .passthrough(),
  })
  .passthrough();
const StatefulSetExtras = z
  .object({
    spec: z
      .object({
        replicas: z.number().int().min(0).optional(),
        minReadySeconds: z.number().int().min(0).optional(),
        podManagementPolicy: z.enum(["OrderedReady", "Parallel"]).optional(),
        updateStrategy: z
          .object({
            type: z.enum(["RollingUpdate", "OnDelete"]).optional(),
            rollingUpdate: z.object({ partition: z.number().int().min(0).optional() }).optional(),
          })
          .optional(),
        template: podTemplateGrace,
      })
      .passthrough(),
  })
  .passthrough();
const rulesSchema = z
  .object({
    stabilizationWindowSeconds: z.number().int().min(0).max(3600).optional(),
    selectPolicy: z.enum(["Max", "Min", "Disabled"]).optional(),
    policies: z
      .array(
        z.object({
          type: z.enum(["Pods", "Percent"]),
          value: z.number().int().min(1),
          periodSeconds: z.number().int().min(1).max(1800),
        }),
      )
      .optional(),
  })
  .optional();
const HpaExtras = z
  .object({
    metadata: z.object({ name: z.string(), namespace: z.string().optional() }).passthrough(),
    spec: z
      .object({
        scaleTargetRef: z.object({ kind: z.string(), name: z.string() }).passthrough(),
        minReplicas: z.number().int().min(0).optional(),
        maxReplicas: z.number().int().min(1),
        metrics: z
          .array(
            z
              .object({
                type: z.string(),
                resource: z
                  .object({
                    name: z.string(),
                    target: z
                      .object({ type: z.string(), averageUtilization: z.number().int().min(1).optional() })
                      .passthrough(),
                  })
                  .passthrough()
                  .optional(),
              })
              .passthrough(),
          )
          .optional(),
        behavior: z.object({ scaleUp: rulesSchema, scaleDown: rulesSchema }).optional(),
      })
      .passthrough(),
  })
  .passthrough();

function rules(r: z.infer<typeof rulesSchema>, defaults: ScalingRules): ScalingRules {
  if (r === undefined) return defaults;
  return {
    stabilizationWindowSeconds: r.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: r.selectPolicy ?? defaults.selectPolicy,
    policies: r.policies ?? defaults.policies,
  };
}

/** Reads workloads, their templates and HPAs from the (patched) manifests; `cluster` is the host's load of the same texts. */
export function workloadsFromManifests(
  texts: readonly ManifestInput[],
  cluster: ClusterState,
  now: string,
): Workloads {
  const read = readDocuments(texts);
  const errors: InputError[] = [];
  const context: unknown[] = [];
  const workloadObjects: {
    kind: "Deployment" | "StatefulSet";
    value: Record<string, unknown>;
    source: string;
    path: (string | number)[];
  }[] = [];
  const replicaSets = new Map<string, string>();
  const hpaObjects: { value: unknown; source: string; path: (string | number)[] }[] = [];
  for (const o of read.objects) {
    if (!isRecord(o.value)) continue;
    const kind = o.value.kind;
    const meta = isRecord(o.value.metadata) ? o.value.metadata : {};
    const ns = typeof meta.namespace === "string" ? meta.namespace : "default";
    if (typeof kind !== "string") continue;
    if (CONTEXT_KINDS.has(kind)) context.push(o.value);
    else if (kind === "Deployment" || kind === "StatefulSet")
      workloadObjects.push({ kind, value: o.value, source: o.source, path: o.path });
    else if (kind === "HorizontalPodAutoscaler")
      hpaObjects.push({ value: o.value, source: o.source, path: o.path });
    else if (kind === "ReplicaSet") {
      const owner = Array.isArray(meta.ownerReferences)
        ? (meta.ownerReferences as unknown[]).find(
            (r) => isRecord(r) && r.controller === true && r.kind === "Deployment",
          )
        : undefined;
      if (isRecord(owner) && typeof meta.name === "string" && typeof owner.name === "string")
        replicaSets.set(`${ns}/${meta.name}`, `${ns}/${owner.name}`);
    }
  }

  const templateOf = (kind: string, value: Record<string, unknown>): Pod => {
    const meta = value.metadata as Record<string, unknown>;
    const one = mergePatch(value, { spec: { replicas: 1 }, status: null }) as Record<string, unknown>;
    const loaded = loadManifests(
      [
        {
          source: "template",
          text: JSON.stringify({ apiVersion: "v1", kind: "List", items: [...context, one] }),
        },
      ],
      { now },
    );
    const ns = typeof meta.namespace === "string" ? meta.namespace : "default";
    const pod = loaded.cluster.pods.find(
      (p) => p.namespace === ns && p.owner?.kind === kind && p.owner.name === meta.name,
    );
    if (pod === undefined)
      throw new ScenarioError("manifests", [
        {
          code: "invalid_schema",
          path: [],
          object: `${kind} ${ns}/${String(meta.name)}`,
          detail: `its pod template could not be read: ${loaded.errors.map((e) => e.detail ?? e.expected ?? e.code).join("; ") || "no pod"}`,
        },
      ]);
    return pod;
  };

  const workloads: WorkloadSpec[] = [];
  for (const { kind, value, source, path } of workloadObjects) {
    const meta = value.metadata as Record<string, unknown>;
    const ns = typeof meta.namespace === "string" ? meta.namespace : "default";
    const name = String(meta.name);
    const parsed = (kind === "Deployment" ? DeploymentExtras : StatefulSetExtras).safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        errors.push({
          code: "invalid_schema",
          source,
          path: [...path, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
          object: `${kind} ${ns}/${name}`,
          detail: issue.message,
        });
      continue;
    }
    const spec = parsed.data.spec as z.infer<typeof DeploymentExtras>["spec"] &
      z.infer<typeof StatefulSetExtras>["spec"];
    const template = templateOf(kind, value);
    const selector = (
      isRecord(spec.selector) ? spec.selector : { matchLabels: template.labels }
    ) as Partial<LabelSelector>;
    // The loaded cluster already applied HPA bounds to replicas; the simulation starts from that count.
    const present = cluster.pods.filter(
      (p) => p.namespace === ns && p.owner?.kind === kind && p.owner.name === name,
    ).length;
    workloads.push({
      kind,
      namespace: ns,
      name,
      key: `${ns}/${name}`,
      selector: {
        matchLabels: selector.matchLabels ?? {},
        matchExpressions: selector.matchExpressions ?? [],
      },
      replicas: spec.replicas ?? (present > 0 ? present : 1),
      template,
      revision: revisionHash(value),
      strategy: {
        type: spec.strategy?.type ?? "RollingUpdate",
        maxSurge: spec.strategy?.rollingUpdate?.maxSurge ?? "25%",
        maxUnavailable: spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%",
      },
      podManagementPolicy: spec.podManagementPolicy ?? "OrderedReady",
      partition: spec.updateStrategy?.rollingUpdate?.partition ?? 0,
      minReadySeconds: spec.minReadySeconds ?? 0,
      terminationGraceSeconds: spec.template.spec.terminationGracePeriodSeconds ?? 30,
      raw: value,
      implicit: false,
    });
  }

  const hpas: HpaSpec[] = [];
  for (const { value, source, path } of hpaObjects) {
    const parsed = HpaExtras.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        errors.push({
          code: "invalid_schema",
          source,
          path: [...path, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
          object: "HorizontalPodAutoscaler",
          detail: issue.message,
        });
      continue;
    }
    const h = parsed.data;
    const cpu = h.spec.metrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu");
    hpas.push({
      namespace: h.metadata.namespace ?? "default",
      name: h.metadata.name,
      target: { kind: h.spec.scaleTargetRef.kind, name: h.spec.scaleTargetRef.name },
      minReplicas: h.spec.minReplicas ?? 1,
      maxReplicas: h.spec.maxReplicas,
      targetUtilization: cpu?.resource?.target.averageUtilization ?? 80,
      scaleUp: rules(h.spec.behavior?.scaleUp, DEFAULT_SCALE_UP),
      scaleDown: rules(h.spec.behavior?.scaleDown, DEFAULT_SCALE_DOWN),
    });
  }
  if (errors.length > 0) throw new ScenarioError("manifests", errors);

  // Present pods: through their ReplicaSet to a Deployment, or their workload directly (synthesized
  // replicas); pods of a ReplicaSet the input does not have form an implicit workload of their own.
  const byKey = new Map(workloads.map((w) => [w.key, w]));
  const owners = new Map<string, string>();
  const orphans = new Map<string, Pod[]>();
  for (const p of cluster.pods) {
    if (p.daemonSet || p.owner === undefined) continue;
    const ns = p.namespace;
    let key: string | undefined;
    if (p.owner.kind === "Deployment" || p.owner.kind === "StatefulSet") key = `${ns}/${p.owner.name}`;
    else if (p.owner.kind === "ReplicaSet") key = replicaSets.get(`${ns}/${p.owner.name}`);
    if (key !== undefined && byKey.has(key)) {
      owners.set(podKey(p), key);
      continue;
    }
    if (p.owner.kind === "ReplicaSet") {
      const k = `${ns}/${p.owner.name}`;
      orphans.set(k, [...(orphans.get(k) ?? []), p]);
    }
  }
  for (const [key, pods] of orphans) {
    const first = pods[0] as Pod;
    const { nodeName: _n, startTime: _s, ...template } = first;
    const w: WorkloadSpec = {
      kind: "Deployment",
      namespace: first.namespace,
      name: key.slice(key.indexOf("/") + 1),
      key,
      selector: { matchLabels: { ...first.labels }, matchExpressions: [] },
      replicas: pods.length,
      template: { ...template, phase: "Pending", provisionable: true, terminating: false },
      revision: first.labels["pod-template-hash"] ?? hex(hash32(key)),
      strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" },
      podManagementPolicy: "OrderedReady",
      partition: 0,
      minReadySeconds: 0,
      terminationGraceSeconds: 30,
      raw: {},
      implicit: true,
    };
    workloads.push(w);
    for (const p of pods) owners.set(podKey(p), key);
  }

  return {
    workloads,
    hpas,
    owners,
    retemplate(w, change) {
      const containers = ((w.raw.spec as Record<string, unknown>).template as Record<string, unknown>)
        .spec as Record<string, unknown>;
      const list = Array.isArray(containers.containers)
        ? (containers.containers as Record<string, unknown>[])
        : [];
      const patched = list.map((c) => {
        let next: Record<string, unknown> = { ...c };
        if (change.image !== undefined) {
          const image = typeof c.image === "string" ? c.image : "";
          const colon = image.lastIndexOf(":");
          next.image =
            colon > image.lastIndexOf("/")
              ? `${image.slice(0, colon)}:${change.image}`
              : `${image}:${change.image}`;
        }
        if (change.requests !== undefined)
          next = mergePatch(next, { resources: { requests: change.requests } }) as Record<string, unknown>;
        return next;
      });
      const raw = mergePatch(w.raw, { spec: { template: { spec: { containers: null } } } }) as Record<
        string,
        unknown
      >;
      ((raw.spec as Record<string, unknown>).template as Record<string, unknown>).spec = {
        ...(((raw.spec as Record<string, unknown>).template as Record<string, unknown>).spec as Record<
          string,
          unknown
        >),
        containers: patched,
      };
      return { raw, template: templateOf(w.kind, raw), revision: revisionHash(raw) };
    },
  };
}

/** A revision's name: a hash of the pod template, as Kubernetes' pod-template-hash (10 hex digits here). */
function revisionHash(workload: Record<string, unknown>): string {
  const spec = isRecord(workload.spec) ? workload.spec : {};
  return (
    hex(hash32(stableJson(spec.template))) + hex(hash32(`${stableJson(spec.template)}\u0001`)).slice(0, 2)
  );
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** JSON with object keys sorted (a hash must not depend on the order keys were written in). */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (isRecord(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}
