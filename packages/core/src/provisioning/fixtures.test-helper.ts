import { type InstanceType, type LabelSelector, type Pod, type PodInput, PodSchema } from "../model.ts";

/** Builders shared by the provisioning tests. */

export const NOW = "2026-11-01T00:00:00Z";
export const GiB = 1024 ** 3;

/** A pending pod requesting `cpuMillis` and `memoryGiB`. */
export function pod(name: string, cpuMillis: number, memoryGiB: number, extra: Partial<PodInput> = {}): Pod {
  return PodSchema.parse({
    namespace: "default",
    name,
    uid: `uid-${name}`,
    creationTimestamp: NOW,
    requests: { cpuMillis, memoryBytes: Math.round(memoryGiB * GiB), pods: 1 },
    ...extra,
  });
}

/** An amd64 instance type with on-demand offerings at one price in each zone (default zone-a and zone-b). */
export function instanceType(
  name: string,
  cpu: number,
  memoryGiB: number,
  price: number,
  { maxPods = 110, zones = ["zone-a", "zone-b"] }: { maxPods?: number; zones?: string[] } = {},
): InstanceType {
  const resources = { cpuMillis: cpu * 1000, memoryBytes: Math.round(memoryGiB * GiB), pods: maxPods };
  return {
    name,
    labels: {
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux",
      "node.kubernetes.io/instance-type": name,
    },
    capacity: resources,
    allocatable: resources,
    offerings: zones.map((zone) => ({
      zone,
      capacityType: "on-demand" as const,
      pricePerHour: price,
      available: true,
    })),
  };
}

/**
 * Pod fields for one topology spread over `topologyKey` of the pods `selector` matches (with `labels`
 * when the pod is to carry the labels it selects on).
 */
export function spreadBy(
  topologyKey: string,
  selector: Pick<LabelSelector, "matchLabels">,
  { maxSkew = 1, whenUnsatisfiable = "DoNotSchedule", labels }: SpreadOptions = {},
): Pick<PodInput, "labels" | "topologySpreadConstraints"> {
  return {
    ...(labels === undefined ? {} : { labels }),
    topologySpreadConstraints: [{ maxSkew, topologyKey, whenUnsatisfiable, labelSelector: selector }],
  };
}

/** A spread's skew and what it does when unsatisfiable (default 1 and DoNotSchedule), and the pod's labels. */
export interface SpreadOptions {
  maxSkew?: number;
  whenUnsatisfiable?: "DoNotSchedule" | "ScheduleAnyway";
  labels?: Record<string, string>;
}
