import { type IssuePath, type Pod, PodSchema } from "@nodeplan/core";
import { reportError } from "../context.ts";
import type { GraphObject } from "../graph.ts";
import { ObjectKeys, podOwners } from "../ownership.ts";
import { hasNoStatus, mapPod } from "../pods.ts";
import { deterministicUid } from "../uid.ts";
import { synthesizePods, type WorkloadRecord } from "../workloads.ts";
import type { Lookups } from "./lookups.ts";
import { type Buckets, type Entry, guarded, isTrue, type Parsed } from "./sort.ts";

/** The most pods one workload may ask for: beyond it, replicas are a mistake (2^31), not a plan. */
export const MAX_REPLICAS_PER_WORKLOAD = 1_000_000;

/** The kinds whose pod template times a count makes pods. */
const WORKLOAD_KINDS = ["Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"] as const;
type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Pods read: those present in the input, then each workload's that are not. */
export interface PodsRead {
  pods: Pod[];
  /** Present pods with no status at all (manifests, not a dump), pending. */
  withoutStatus: number;
  /** Some object had no creationTimestamp and `now` stood in. */
  nowUsed: boolean;
}

/**
 * Pods as kubectl and kube-scheduler see them. Pods present in the input first: a Pod with no status
 * at all is a manifest, not a cluster dump: it is what kube-scheduler would be given, and without a
 * node it is pending (kube-scheduler marks it Unschedulable when nothing fits, which is what
 * Karpenter waits for). Then workloads: template x replicas, unless pods of theirs are present
 * (`kubectl get deploy,po`), with an HPA keeping replicas within its bounds.
 */
export function readPods(
  buckets: Buckets,
  lookups: Lookups,
  options: { now: string; maxReplicasFromHpa?: boolean | undefined },
): PodsRead {
  const pods: Pod[] = [];
  let withoutStatus = 0;
  let nowUsed = false;
  const present: Pod[] = [];
  for (const { ctx, value, node } of buckets.Pod) {
    const pod = guarded(ctx, node, () => mapPod(ctx, value, lookups.resolvers, options.now));
    if (pod === undefined) continue;
    if (value.metadata.uid === undefined) pod.uid = deterministicUid(`${pod.namespace}/${pod.name}`);
    if (value.metadata.creationTimestamp === undefined) nowUsed = true;
    if (hasNoStatus(value) && pod.provisionable) withoutStatus++;
    pods.push(PodSchema.parse(pod));
    present.push(pod);
    node.pods = 1;
  }
  for (const { record, node } of workloadsToSynthesize(buckets, lookups, present, options)) {
    const synthesized = guarded(record.ctx, node, () =>
      synthesizePods(record, {
        resolvers: lookups.resolvers,
        limitRanges: lookups.limitRanges,
        now: options.now,
      }),
    );
    if (synthesized === undefined) continue;
    if (synthesized.length > 0 && record.metadata.creationTimestamp === undefined) nowUsed = true;
    for (const pod of synthesized) pods.push(pod);
    node.pods = synthesized.length;
  }
  return { pods, withoutStatus, nowUsed };
}

/** The workloads whose pods are to be synthesized, with their counts (too many is an error). */
function workloadsToSynthesize(
  buckets: Buckets,
  lookups: Lookups,
  present: readonly Pod[],
  options: { maxReplicasFromHpa?: boolean | undefined },
): { record: WorkloadRecord; node: GraphObject }[] {
  const { ownedBy, delegated } = ownership(buckets, present);
  /** Replicas as the HPA keeps them (within minReplicas..maxReplicas), or its maxReplicas when asked. */
  const replicasFor = (ns: string, kind: string, name: string, replicas: number | undefined) => {
    const hpa = lookups.hpaBounds(ns, `${kind}/${name}`);
    if (hpa === undefined) return replicas ?? 1;
    if (options.maxReplicasFromHpa === true) return hpa.max;
    return Math.min(hpa.max, Math.max(hpa.min, replicas ?? 1));
  };
  const out: { record: WorkloadRecord; node: GraphObject }[] = [];
  for (const kind of WORKLOAD_KINDS) {
    for (const entry of buckets[kind] as Entry<WorkloadKind>[]) {
      const { ctx, value, node } = entry;
      const ns = value.metadata.namespace ?? "default";
      if (ownedBy.has(ns, kind, value.metadata.name) || delegated.has(ns, kind, value.metadata.name))
        continue;
      const { record, countPath } = workloadRecord(kind, entry, (replicas) =>
        replicasFor(ns, kind, value.metadata.name, replicas),
      );
      if (record.replicas > MAX_REPLICAS_PER_WORKLOAD) {
        reportError(ctx, countPath, {
          code: "quantity_out_of_range",
          value: String(record.replicas),
          expected: `at most ${MAX_REPLICAS_PER_WORKLOAD} pods per workload`,
          detail:
            "nodeplan does not plan a workload larger than that (a replica count such as 2^31 is a mistake, not a plan)",
        });
        node.outcome = "rejected";
        continue;
      }
      out.push({ record, node });
    }
  }
  return out;
}

/**
 * Which workloads have pods of their own in the input (`ownedBy`), and which are planned through their
 * controller instead (`delegated`): pods of a ReplicaSet (Job) count as pods of its Deployment
 * (CronJob), and a ReplicaSet (Job) whose controller is in the input is planned through that controller.
 */
function ownership(
  buckets: Buckets,
  present: readonly Pod[],
): { ownedBy: ObjectKeys; delegated: ObjectKeys } {
  const inInput = new ObjectKeys();
  for (const kind of WORKLOAD_KINDS)
    for (const { value } of buckets[kind])
      inInput.add(value.metadata.namespace ?? "default", kind, value.metadata.name);
  const ownedBy = podOwners(
    present,
    WORKLOAD_KINDS.flatMap((kind) =>
      (buckets[kind] as Entry<WorkloadKind>[]).map(({ value }) => ({
        kind,
        namespace: value.metadata.namespace ?? "default",
        name: value.metadata.name,
        selector: "selector" in value.spec ? value.spec.selector : undefined,
      })),
    ),
  );
  const delegated = new ObjectKeys();
  for (const kind of ["ReplicaSet", "Job"] as const) {
    for (const { value } of buckets[kind]) {
      const ns = value.metadata.namespace ?? "default";
      const owner = value.metadata.ownerReferences?.find((o) => o.controller === true);
      if (owner === undefined || !inInput.has(ns, owner.kind, owner.name)) continue;
      delegated.add(ns, kind, value.metadata.name);
      if (ownedBy.has(ns, kind, value.metadata.name) || kind === "Job")
        ownedBy.add(ns, owner.kind, owner.name);
    }
  }
  return { ownedBy, delegated };
}

/** A workload's template and pod count, by kind, and the field its count comes from. */
function workloadRecord(
  kind: WorkloadKind,
  { ctx, value }: Entry<WorkloadKind>,
  replicas: (declared: number | undefined) => number,
): { record: WorkloadRecord; countPath: IssuePath } {
  const common = { ctx, kind, metadata: value.metadata, claimTemplates: [] as string[] };
  if (kind === "Job") {
    const job = value as Parsed<"Job">;
    const done = isTrue(job.status?.conditions, "Complete") || isTrue(job.status?.conditions, "Failed");
    const count = job.spec.suspend === true || done ? 0 : jobPods(job.spec, job.status?.succeeded ?? 0);
    return {
      record: { ...common, template: job.spec.template, templatePath: ["spec", "template"], replicas: count },
      countPath: ["spec", "parallelism"],
    };
  }
  if (kind === "CronJob") {
    const cron = value as Parsed<"CronJob">;
    const count = cron.spec.suspend === true ? 0 : jobPods(cron.spec.jobTemplate.spec, 0);
    return {
      record: {
        ...common,
        template: cron.spec.jobTemplate.spec.template,
        templatePath: ["spec", "jobTemplate", "spec", "template"],
        replicas: count,
      },
      countPath: ["spec", "jobTemplate", "spec", "parallelism"],
    };
  }
  const set = value as Parsed<"StatefulSet">;
  return {
    record: {
      ...common,
      template: set.spec.template,
      templatePath: ["spec", "template"],
      replicas: replicas(set.spec.replicas),
      claimTemplates: (set.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
    },
    countPath: ["spec", "replicas"],
  };
}

/** Pods a Job runs at once: its parallelism, within what is left of its completions. */
function jobPods(
  spec: { parallelism?: number | undefined; completions?: number | null | undefined },
  succeeded: number,
): number {
  const parallelism = spec.parallelism ?? 1;
  return spec.completions === undefined || spec.completions === null
    ? parallelism
    : Math.max(0, Math.min(parallelism, spec.completions - succeeded));
}
