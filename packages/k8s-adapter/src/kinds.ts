/**
 * The kinds the adapter reads and the apiVersions it accepts for each. A known kind under another
 * apiVersion (an old `karpenter.sh/v1beta1` NodePool, say) is an error, because its fields mean
 * something else; an unknown kind is only listed as skipped.
 */
export const supportedKinds = {
  Pod: ["v1"],
  Deployment: ["apps/v1"],
  ReplicaSet: ["apps/v1"],
  StatefulSet: ["apps/v1"],
  DaemonSet: ["apps/v1"],
  Job: ["batch/v1"],
  CronJob: ["batch/v1"],
  PodDisruptionBudget: ["policy/v1"],
  Node: ["v1"],
  NodePool: ["karpenter.sh/v1"],
  NodeClaim: ["karpenter.sh/v1"],
  EC2NodeClass: ["karpenter.k8s.aws/v1"],
  HorizontalPodAutoscaler: ["autoscaling/v2", "autoscaling/v1"],
  PriorityClass: ["scheduling.k8s.io/v1"],
  PersistentVolumeClaim: ["v1"],
  PersistentVolume: ["v1"],
  StorageClass: ["storage.k8s.io/v1"],
  LimitRange: ["v1"],
  Namespace: ["v1"],
} as const satisfies Record<string, readonly string[]>;

/** A kind the adapter reads. */
export type SupportedKind = keyof typeof supportedKinds;

/** True when `kind` is one the adapter reads. */
export function isSupportedKind(kind: string): kind is SupportedKind {
  return Object.hasOwn(supportedKinds, kind);
}

/** Names an object the way errors show it: `Kind namespace/name` or `Kind name`. */
export function objectRef(kind: string, namespace: string | undefined, name: string | undefined): string {
  const id = name === undefined ? "(unnamed)" : namespace === undefined ? name : `${namespace}/${name}`;
  return `${kind} ${id}`;
}
