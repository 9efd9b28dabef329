import { type Pod, PodSchema } from "@nodeplan/core";
import type { ObjectContext } from "./context.ts";
import type { ObjectMeta, PodTemplateShape } from "./k8s-shapes.ts";
import { applyLimitRanges, type LimitRangeItem } from "./limit-ranges.ts";
import { mapPodSpec } from "./pod-spec.ts";
import { claimNamesOf, type PodResolvers } from "./pods.ts";
import { deterministicUid } from "./uid.ts";

/** Workload kinds whose template is turned into pending pods. */
export type WorkloadKind = "Deployment" | "ReplicaSet" | "StatefulSet" | "Job" | "CronJob";

/** A validated workload: its template, how many pods it wants, and where it came from. */
export interface WorkloadRecord {
  ctx: ObjectContext;
  kind: WorkloadKind;
  metadata: ObjectMeta;
  template: PodTemplateShape;
  /** Path of the template inside the object (`spec.template`, or `spec.jobTemplate.spec.template`). */
  templatePath: (string | number)[];
  replicas: number;
  /** StatefulSet volumeClaimTemplates names (each replica gets `<template>-<set>-<i>`). */
  claimTemplates: string[];
}

/** Inputs to pod synthesis besides the workload. */
export interface SynthesisContext {
  resolvers: PodResolvers;
  limitRanges(namespace: string): LimitRangeItem[];
  now: string;
}

/**
 * Pending pods for a workload that has none of its own in the input: the template (with the
 * namespace's LimitRange defaults, as admission would apply them) times the replica count, named
 * `<workload>-<index>` with a uid derived from namespace/name and the workload's creation time.
 * The pods are model pods already (validated once, through the first replica).
 */
export function synthesizePods(workload: WorkloadRecord, context: SynthesisContext): Pod[] {
  if (workload.replicas === 0) return [];
  const { ctx, metadata, template, templatePath } = workload;
  const namespace = metadata.namespace ?? "default";
  const spec = applyLimitRanges(template.spec, context.limitRanges(namespace));
  const specPath = [...templatePath, "spec"];
  const fields = mapPodSpec(ctx, spec, namespace, specPath);
  const priority = context.resolvers.priority(ctx, spec, specPath);
  const owner: NonNullable<Pod["owner"]> = { kind: workload.kind, name: metadata.name, controller: true };
  if (metadata.uid !== undefined) owner.uid = metadata.uid;
  const pods: Pod[] = [];
  const labels = { ...(template.metadata?.labels ?? {}) };
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  const creationTimestamp = metadata.creationTimestamp ?? context.now;
  const volumesPath = [...specPath, "volumes"];
  const claimsOf = (i: number, name: string) => {
    const own = claimNamesOf(spec, name);
    for (const t of workload.claimTemplates) own.push(`${t}-${metadata.name}-${i}`);
    return own;
  };
  // Only the first replica reports missing objects: the others would repeat it.
  const quiet = { ...ctx, warnings: [] };
  const sharedVolumes = claimsOf(0, `${metadata.name}-0`).every((c) => c === undefined)
    ? context.resolvers.volumeRequirements(ctx, namespace, [], volumesPath)
    : undefined;
  // Replicas share the template's (immutable) scheduling fields; the model is validated, and so
  // copied, once for the whole cluster afterwards. A loop, not a spread: replicas can be a million.
  let first: Pod | undefined;
  for (let i = 0; i < workload.replicas; i++) {
    const name = `${metadata.name}-${i}`;
    const volumeRequirements =
      sharedVolumes ??
      context.resolvers.volumeRequirements(i === 0 ? ctx : quiet, namespace, claimsOf(i, name), volumesPath);
    const uid = deterministicUid(`${namespace}/${name}`);
    if (first === undefined) {
      // The first replica is validated against the model; the others are it under another name.
      first = PodSchema.parse({
        namespace,
        name,
        uid,
        labels,
        annotations,
        creationTimestamp,
        ...fields,
        volumeRequirements,
        priority,
        owner,
        phase: "Pending",
        provisionable: true,
        daemonSet: false,
        terminating: false,
      });
      pods.push(first);
    } else pods.push({ ...first, name, uid, volumeRequirements });
  }
  return pods;
}
