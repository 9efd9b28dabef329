import type { Pod } from "@nodeplan/core";
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
  for (let i = 0; i < workload.replicas; i++) {
    const name = `${metadata.name}-${i}`;
    const claims = [
      ...claimNamesOf(spec, name),
      ...workload.claimTemplates.map((t) => `${t}-${metadata.name}-${i}`),
    ];
    pods.push({
      namespace,
      name,
      uid: deterministicUid(`${namespace}/${name}`),
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: { ...(template.metadata?.annotations ?? {}) },
      creationTimestamp: metadata.creationTimestamp ?? context.now,
      ...structuredClone(fields),
      volumeRequirements:
        // Only the first replica reports missing objects: the others would repeat it.
        i === 0 || claims.length === 0
          ? context.resolvers.volumeRequirements(ctx, namespace, claims, [...specPath, "volumes"])
          : context.resolvers.volumeRequirements({ ...ctx, warnings: [] }, namespace, claims, [
              ...specPath,
              "volumes",
            ]),
      priority,
      owner: { ...owner },
      phase: "Pending",
      provisionable: true,
      daemonSet: false,
      terminating: false,
    });
  }
  return pods;
}
