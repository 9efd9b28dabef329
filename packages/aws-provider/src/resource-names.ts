import { CPU_MILLIS, EPHEMERAL_BYTES, MEMORY_BYTES, PODS } from "@nodeplan/core";
import { formatQuantityValue, type QuantityUnit } from "./k8s-quantity.ts";

/**
 * Model resource keys (CONTRACTS.md) and the Kubernetes resource names the AWS provider reports.
 * Core's resources module will own the general mapping; these are the names this package writes.
 */

export { CPU_MILLIS, EPHEMERAL_BYTES, MEMORY_BYTES, PODS };

/** Extended resources the AWS provider can report (Kubernetes names, integer counts). */
export const awsResourceNames = {
  nvidiaGpu: "nvidia.com/gpu",
  amdGpu: "amd.com/gpu",
  habanaGaudi: "habana.ai/gaudi",
  neuron: "aws.amazon.com/neuron",
  neuronCore: "aws.amazon.com/neuroncore",
  efa: "vpc.amazonaws.com/efa",
  podEni: "vpc.amazonaws.com/pod-eni",
  privateIPv4Address: "vpc.amazonaws.com/PrivateIPv4Address",
} as const;

const toKubernetes: Record<string, [string, QuantityUnit]> = {
  [CPU_MILLIS]: ["cpu", "cpu"],
  [MEMORY_BYTES]: ["memory", "bytes"],
  [EPHEMERAL_BYTES]: ["ephemeral-storage", "bytes"],
  [PODS]: ["pods", "count"],
};

/** Converts a model resource vector into a Kubernetes ResourceList (`{ cpu: "1930m", memory: "6903Mi" }`), keys sorted. */
export function toResourceList(resources: Readonly<Record<string, number>>): Record<string, string> {
  const entries = Object.entries(resources).map(([key, value]): [string, string] => {
    const [name, unit] = toKubernetes[key] ?? [key, "count"];
    return [name, formatQuantityValue(value, unit)];
  });
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
