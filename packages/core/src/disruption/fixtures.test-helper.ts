import {
  type InstanceType,
  InstanceTypeSchema,
  type Node,
  type NodePool,
  type NodePoolInput,
  NodePoolSchema,
  NodeSchema,
  type Pod,
  PodSchema,
} from "../model.ts";

/** Small fixtures shared by the disruption tests: a four-type on-demand catalog in one zone. */

export const NOW = "2026-11-02T12:00:00Z";
const GiB = 1024 ** 3;

const type = (name: string, cpu: number, price: number, spot?: number): InstanceType =>
  InstanceTypeSchema.parse({
    name,
    labels: { "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux" },
    capacity: { cpuMillis: cpu * 1000, memoryBytes: cpu * 2 * GiB, pods: 110 },
    allocatable: { cpuMillis: cpu * 1000, memoryBytes: cpu * 2 * GiB, pods: 110 },
    offerings: [
      { zone: "z1", capacityType: "on-demand", pricePerHour: price },
      ...(spot === undefined ? [] : [{ zone: "z1", capacityType: "spot", pricePerHour: spot }]),
    ],
  });

/** small 2 cpu $0.10, medium 4 cpu $0.20, large 8 cpu $0.40, big 16 cpu $1.00 (priced above 2 x large). */
export const catalog: InstanceType[] = [
  type("small", 2, 0.1, 0.04),
  type("medium", 4, 0.2, 0.08),
  type("large", 8, 0.4, 0.16),
  type("big", 16, 1.0, 0.4),
];

export function pool(input: Partial<NodePoolInput> = {}): NodePool {
  return NodePoolSchema.parse({
    name: "default",
    template: {
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }],
    },
    ...input,
  });
}

export function node(name: string, typeName: string, extra: Record<string, unknown> = {}): Node {
  const it = catalog.find((t) => t.name === typeName) as InstanceType;
  const capacityType = (extra.capacityType as string | undefined) ?? "on-demand";
  return nodeOf(it, name, "z1", capacityType, { providerID: `aws:///z1/i-${name}`, ...extra });
}

/** A node of NodePool `default` of type `it` in `zone`, priced at its offering there (`extra` overrides). */
export function nodeOf(
  it: InstanceType,
  name: string,
  zone: string,
  capacityType: string,
  extra: Record<string, unknown> = {},
): Node {
  const offering = it.offerings.find((o) => o.zone === zone && o.capacityType === capacityType);
  return NodeSchema.parse({
    name,
    labels: {
      ...it.labels,
      "node.kubernetes.io/instance-type": it.name,
      "topology.kubernetes.io/zone": zone,
      "karpenter.sh/capacity-type": capacityType,
      "karpenter.sh/nodepool": "default",
      "kubernetes.io/hostname": name,
    },
    capacity: it.capacity,
    allocatable: it.allocatable,
    instanceType: it.name,
    zone,
    capacityType,
    nodePool: "default",
    pricePerHour: offering?.pricePerHour,
    createdAt: "2026-11-01T00:00:00Z",
    ...extra,
  });
}

let counter = 0;
export function pod(nodeName: string | undefined, cpu: number, extra: Record<string, unknown> = {}): Pod {
  counter++;
  return PodSchema.parse({
    namespace: "default",
    name: `p-${nodeName ?? "pending"}-${counter}`,
    uid: `u${counter}`,
    creationTimestamp: "2026-11-01T00:00:00Z",
    requests: { cpuMillis: cpu, memoryBytes: 256 * 1024 ** 2, pods: 1 },
    nodeName,
    phase: nodeName === undefined ? "Pending" : "Running",
    provisionable: nodeName === undefined,
    labels: { app: "web" },
    ...extra,
  });
}
