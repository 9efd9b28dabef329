/** A Kubernetes API resource the controller reads or writes. */
export interface ApiResource {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Writes to the main resource ignore status, writes to `/status` only change status. */
  statusSubresource: boolean;
}

const r = (
  apiVersion: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  statusSubresource = true,
) => ({
  apiVersion,
  kind,
  plural,
  namespaced,
  statusSubresource,
});

/** The resources the controller uses (also what the test apiserver serves). */
export const apiResources: readonly ApiResource[] = [
  r("v1", "Pod", "pods", true),
  r("v1", "Node", "nodes", false),
  r("v1", "Event", "events", true, false),
  r("v1", "ConfigMap", "configmaps", true, false),
  r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
  r("apps/v1", "DaemonSet", "daemonsets", true),
  r("karpenter.sh/v1", "NodePool", "nodepools", false),
  r("karpenter.sh/v1", "NodeClaim", "nodeclaims", false),
  r("karpenter.k8s.aws/v1", "EC2NodeClass", "ec2nodeclasses", false),
  r("coordination.k8s.io/v1", "Lease", "leases", true, false),
];
