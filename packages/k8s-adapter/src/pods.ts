import type { Pod } from "@nodeplan/core";
import type { ObjectContext } from "./context.ts";
import type { ObjectMeta, PodObject, PodSpecShape } from "./k8s-shapes.ts";
import { mapPodSpec } from "./pod-spec.ts";

/** Lookups a pod needs beyond its own object: priority and volume zones. */
export interface PodResolvers {
  priority(ctx: ObjectContext, spec: PodSpecShape, specPath: (string | number)[]): number;
  volumeRequirements(
    ctx: ObjectContext,
    namespace: string,
    claimNames: (string | undefined)[],
    volumesPath: (string | number)[],
  ): Pod["volumeRequirements"];
}

/** Claim names of a pod's volumes; a generic ephemeral volume's claim is `<pod>-<volume>`. */
export function claimNamesOf(spec: PodSpecShape, podName: string): (string | undefined)[] {
  return (spec.volumes ?? []).map((v) =>
    v.persistentVolumeClaim !== undefined
      ? v.persistentVolumeClaim.claimName
      : v.ephemeral !== undefined
        ? `${podName}-${v.name}`
        : undefined,
  );
}

function controllerOf(meta: ObjectMeta): Pod["owner"] {
  const owner = meta.ownerReferences?.find((o) => o.controller === true) ?? meta.ownerReferences?.[0];
  if (owner === undefined) return undefined;
  const out: NonNullable<Pod["owner"]> = {
    kind: owner.kind,
    name: owner.name,
    controller: owner.controller ?? false,
  };
  if (owner.uid !== undefined) out.uid = owner.uid;
  return out;
}

/** A Pod object with no status at all: a manifest as written, not an object read from a cluster. */
export function hasNoStatus(pod: PodObject): boolean {
  return pod.status === undefined;
}

/**
 * Whether kube-scheduler gave up on the pod and Karpenter would provision for it
 * (K: pkg/utils/pod/scheduling.go IsProvisionable): pending, not bound, not nominated for
 * preemption, marked PodScheduled=False/Unschedulable, not a DaemonSet or static (mirror) pod,
 * and not held back by scheduling gates. A pod with no status at all counts as marked (see below).
 */
function isProvisionable(pod: PodObject, owner: Pod["owner"]): boolean {
  const status = pod.status;
  // A manifest without status is what kube-scheduler would be handed: with no node to bind it to
  // it marks the pod Unschedulable, which is when Karpenter provisions. A status without that
  // condition is a pod kube-scheduler has not given up on (yet): Karpenter leaves it alone.
  const unschedulable =
    status === undefined ||
    (status.conditions ?? []).some(
      (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
    );
  return (
    (status?.phase ?? "Pending") === "Pending" &&
    (pod.spec.nodeName ?? "") === "" &&
    (status?.nominatedNodeName ?? "") === "" &&
    unschedulable &&
    owner?.kind !== "DaemonSet" &&
    owner?.kind !== "Node" &&
    pod.metadata.annotations?.["kubernetes.io/config.mirror"] === undefined &&
    (pod.spec.schedulingGates ?? []).length === 0
  );
}

/** Maps a Pod object to a model pod. */
export function mapPod(ctx: ObjectContext, pod: PodObject, resolvers: PodResolvers, now: string): Pod {
  const namespace = pod.metadata.namespace ?? "default";
  const owner = controllerOf(pod.metadata);
  const out: Pod = {
    namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid ?? `${namespace}/${pod.metadata.name}`,
    labels: { ...(pod.metadata.labels ?? {}) },
    annotations: { ...(pod.metadata.annotations ?? {}) },
    creationTimestamp: pod.metadata.creationTimestamp ?? now,
    ...mapPodSpec(ctx, pod.spec, namespace, ["spec"]),
    volumeRequirements: resolvers.volumeRequirements(
      ctx,
      namespace,
      claimNamesOf(pod.spec, pod.metadata.name),
      ["spec", "volumes"],
    ),
    priority: resolvers.priority(ctx, pod.spec, ["spec"]),
    phase: pod.status?.phase ?? "Pending",
    provisionable: isProvisionable(pod, owner),
    daemonSet: owner?.kind === "DaemonSet",
    terminating: pod.metadata.deletionTimestamp !== undefined,
  };
  if (owner !== undefined) out.owner = owner;
  if (pod.spec.nodeName !== undefined && pod.spec.nodeName !== "") out.nodeName = pod.spec.nodeName;
  if (pod.status?.startTime !== undefined) out.startTime = pod.status.startTime;
  return out;
}
