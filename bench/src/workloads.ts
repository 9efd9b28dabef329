import type { Pod } from "@nodeplan/core";
import { mulberry32, pick } from "./random.ts";

/** `now` of every scenario. */
export const BENCH_NOW = "2026-11-01T00:00:00Z";

const MiB = 1024 * 1024;
const CPU = [100, 250, 500, 1000, 1500];
const MEMORY_MIB = [100, 256, 512, 1024, 2048, 4096];
const LETTERS = ["a", "b", "c", "d", "e", "f", "g"];

/** A bench pod in namespace `bench`, named `<group>-<index>`. */
export function benchPod(
  group: string,
  index: number,
  cpuMillis: number,
  memoryMiB: number,
  labels: Record<string, string>,
): Pod {
  return {
    namespace: "bench",
    name: `${group}-${index}`,
    uid: `bench-${group}-${index}`,
    labels,
    annotations: {},
    creationTimestamp: BENCH_NOW,
    requests: { cpuMillis, memoryBytes: memoryMiB * MiB, pods: 1 },
    nodeSelector: {},
    requiredNodeAffinity: [],
    preferredNodeAffinity: [],
    podAffinity: { required: [], preferred: [] },
    podAntiAffinity: { required: [], preferred: [] },
    tolerations: [],
    topologySpreadConstraints: [],
    hostPorts: [],
    volumeRequirements: [],
    priority: 0,
    phase: "Pending",
    provisionable: true,
    daemonSet: false,
    terminating: false,
  };
}

/** `generic-N`: N pods of group 1 (cpu, memory, then label my-label = pick(a..g)). */
export function genericPods(n: number, seed = 42): Pod[] {
  const rand = mulberry32(seed);
  const pods: Pod[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = pick(rand, CPU);
    const mem = pick(rand, MEMORY_MIB);
    pods.push(benchPod("generic", i, cpu, mem, { "my-label": pick(rand, LETTERS) }));
  }
  return pods;
}

/** The request draws alone (cpu then memory), for kernel rows. */
export function requestDraws(rand: () => number): { cpuMillis: number; memoryBytes: number } {
  const cpuMillis = pick(rand, CPU);
  return { cpuMillis, memoryBytes: pick(rand, MEMORY_MIB) * MiB };
}
