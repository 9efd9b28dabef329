import {
  addResources,
  formatQuantity,
  InputValidationError,
  k8sNameFor,
  type NodeClassObject,
  type NodePool,
  type NodeSelectorRequirement,
  type PlannedNodeClaim,
  type Pod,
  podKey,
  quantityKindFor,
  type ResourceVector,
} from "@nodeplan/core";

/** What NodeClaim manifests are built from besides the plan's claims. */
export interface NodeClaimManifestOptions {
  nodePools: readonly NodePool[];
  /** Pods the plan names (their requests sum into the claim's resources.requests). */
  pods: readonly Pod[];
  nodeClasses?: readonly NodeClassObject[];
  /** NodePool name -> uid, for the owner reference (from `loadManifests`). */
  nodePoolUids?: Readonly<Record<string, string>>;
}

// Karpenter's well-known labels (K: pkg/apis/v1/labels.go): never stamped as claim labels at creation,
// the cloud provider sets them once the instance exists.
const wellKnownLabels = new Set([
  "karpenter.sh/nodepool",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "karpenter.sh/capacity-type",
  "node.kubernetes.io/windows-build",
  "kubernetes.io/hostname",
]);
const instanceTypeKey = "node.kubernetes.io/instance-type";

/** The published CRD in @kubernetes-models/karpenter 2.0.0 has no Gte/Lte: write their integer equivalents. */
function crdRequirement(r: NodeSelectorRequirement): Record<string, unknown> {
  let { operator, values } = r;
  if (operator === "Gte") [operator, values] = ["Gt", [String(Number(values[0]) - 1)]];
  if (operator === "Lte") [operator, values] = ["Lt", [String(Number(values[0]) + 1)]];
  const out: Record<string, unknown> = { key: r.key, operator };
  if (operator !== "Exists" && operator !== "DoesNotExist") {
    out.values = r.key === instanceTypeKey ? [...values] : [...values].sort();
  }
  if (r.minValues !== undefined) out.minValues = r.minValues;
  return out;
}

export function resourceList(resources: ResourceVector): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(resources).sort()) {
    const name = k8sNameFor(key);
    out[name] = formatQuantity(resources[key] as number, quantityKindFor(name));
  }
  return out;
}

/**
 * karpenter.sh/v1 NodeClaim manifests for a plan's new claims, labelled and annotated as Karpenter's
 * NodeClaimTemplate.ToNodeClaim does (K: pkg/controllers/provisioning/scheduling/nodeclaimtemplate.go):
 * NodePool and node class labels, template labels, custom labels the requirements pin to one value;
 * the NodePool hash annotations (and the EC2NodeClass hash the AWS provider stamps) when known;
 * requirements = the claim's, plus NodePool requirements and template labels on other keys, with
 * instance types in the claim's price order; requests = pod requests + DaemonSet overhead.
 * Throws `InputValidationError` when a claim names a NodePool or pod that is not given.
 */
export function toNodeClaimManifests(
  claims: readonly PlannedNodeClaim[],
  options: NodeClaimManifestOptions,
): Record<string, unknown>[] {
  const pools = new Map(options.nodePools.map((p) => [p.name, p]));
  const pods = new Map(options.pods.map((p) => [podKey(p), p]));
  const classes = new Map((options.nodeClasses ?? []).map((c) => [`${c.kind}/${c.name}`, c]));
  return claims.map((claim, index) => {
    const pool = pools.get(claim.nodePool);
    if (pool === undefined) {
      throw new InputValidationError([
        {
          code: "invalid_reference",
          path: [index, "nodePool"],
          value: claim.nodePool,
          expected: "a NodePool in the input",
        },
      ]);
    }
    const template = pool.template;
    const ref = template.nodeClassRef;
    const labels: Record<string, string> = { ...template.labels, "karpenter.sh/nodepool": pool.name };
    if (ref !== undefined) labels[`${ref.group}/${ref.kind.toLowerCase()}`] = ref.name;

    const requirements = new Map<string, NodeSelectorRequirement>();
    for (const r of claim.requirements) requirements.set(r.key, r);
    for (const r of template.requirements) if (!requirements.has(r.key)) requirements.set(r.key, r);
    for (const [key, value] of Object.entries(labels)) {
      if (!requirements.has(key)) requirements.set(key, { key, operator: "In", values: [value] });
    }
    const typeReq = requirements.get(instanceTypeKey);
    requirements.set(instanceTypeKey, {
      key: instanceTypeKey,
      operator: "In",
      values: [...claim.instanceTypeOptions],
      ...(typeReq?.minValues === undefined ? {} : { minValues: typeReq.minValues }),
    });
    if (!requirements.has("karpenter.sh/capacity-type")) {
      requirements.set("karpenter.sh/capacity-type", {
        key: "karpenter.sh/capacity-type",
        operator: "In",
        values: [claim.capacityType],
      });
    }
    if (!requirements.has("topology.kubernetes.io/zone")) {
      requirements.set("topology.kubernetes.io/zone", {
        key: "topology.kubernetes.io/zone",
        operator: "In",
        values: [claim.zone],
      });
    }
    requirements.delete("kubernetes.io/hostname");
    // Custom labels pinned to one value are stamped at creation. Karpenter would also pick an arbitrary
    // value of a multi-valued In set; a plan must be reproducible, so those are left to the node.
    // The AWS provider registers its karpenter.k8s.aws/* labels as well-known: it sets them itself.
    for (const r of requirements.values()) {
      if (wellKnownLabels.has(r.key) || labels[r.key] !== undefined) continue;
      if (r.key.startsWith("karpenter.sh/") || r.key.startsWith("karpenter.k8s.aws/")) continue;
      const only = r.values[0];
      if (r.operator === "In" && r.values.length === 1 && only !== undefined) labels[r.key] = only;
    }
    Object.assign(labels, claim.labels ?? {});

    const annotations: Record<string, string> = { ...template.annotations };
    for (const key of ["karpenter.sh/nodepool-hash", "karpenter.sh/nodepool-hash-version"]) {
      const v = pool.annotations[key];
      if (v !== undefined) annotations[key] = v;
    }
    const nodeClass = ref === undefined ? undefined : classes.get(`${ref.kind}/${ref.name}`);
    for (const key of [
      "karpenter.k8s.aws/ec2nodeclass-hash",
      "karpenter.k8s.aws/ec2nodeclass-hash-version",
    ]) {
      const v = nodeClass?.annotations[key];
      if (v !== undefined) annotations[key] = v;
    }
    Object.assign(annotations, claim.annotations ?? {});

    let requests: ResourceVector = claim.daemonSetOverhead;
    claim.pods.forEach((key, podIndex) => {
      const pod = pods.get(key);
      if (pod === undefined) {
        throw new InputValidationError([
          {
            code: "invalid_reference",
            path: [index, "pods", podIndex],
            value: key,
            expected: "a pod in the input",
          },
        ]);
      }
      requests = addResources(requests, pod.requests);
    });

    const metadata: Record<string, unknown> = {
      name: claim.name,
      labels: sortKeys(labels),
      annotations: sortKeys(annotations),
    };
    const uid = options.nodePoolUids?.[pool.name];
    if (uid !== undefined) {
      metadata.ownerReferences = [
        { apiVersion: "karpenter.sh/v1", kind: "NodePool", name: pool.name, uid, blockOwnerDeletion: true },
      ];
    }
    const spec: Record<string, unknown> = {
      requirements: [...requirements.keys()]
        .sort()
        .map((k) => crdRequirement(requirements.get(k) as NodeSelectorRequirement)),
      resources: { requests: resourceList(requests) },
      expireAfter: template.expireAfter,
    };
    if (ref !== undefined) spec.nodeClassRef = { group: ref.group, kind: ref.kind, name: ref.name };
    if (template.taints.length > 0) spec.taints = template.taints;
    if (template.startupTaints.length > 0) spec.startupTaints = template.startupTaints;
    if (template.terminationGracePeriod !== undefined)
      spec.terminationGracePeriod = template.terminationGracePeriod;
    return { apiVersion: "karpenter.sh/v1", kind: "NodeClaim", metadata, spec };
  });
}

function sortKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
