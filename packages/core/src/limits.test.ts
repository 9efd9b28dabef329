import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimCharge, exceedsLimits, NodePoolLimits, nodePoolUsage } from "./limits.ts";
import type { Node } from "./model.ts";

const node = (name: string, nodePool: string | undefined, cpuMillis: number, inFlight = false): Node => ({
  name,
  labels: {},
  annotations: {},
  taints: [],
  capacity: { cpuMillis, memoryBytes: cpuMillis * 4_000_000, pods: 29 },
  allocatable: { cpuMillis, memoryBytes: cpuMillis * 4_000_000, pods: 29 },
  ...(nodePool === undefined ? {} : { nodePool }),
  createdAt: "2026-12-01T00:00:00Z",
  initialized: !inFlight,
  ready: !inFlight,
  deleting: false,
  unschedulable: false,
  inFlight,
});

const capacities: Record<string, { cpuMillis: number; memoryBytes: number }> = {
  small: { cpuMillis: 2000, memoryBytes: 8e9 },
  large: { cpuMillis: 8000, memoryBytes: 16e9 },
  wide: { cpuMillis: 4000, memoryBytes: 32e9 },
};

describe("NodePool limit accounting", () => {
  it("sums the capacity of nodes and in-flight claims per NodePool, one `nodes` each, unmanaged nodes aside", () => {
    const usage = nodePoolUsage([
      node("a", "general", 2000),
      node("b", "general", 4000, true),
      node("c", "gpu", 8000),
      node("d", undefined, 16000),
    ]);
    expect(usage.get("general")).toEqual({ cpuMillis: 6000, memoryBytes: 24e9, pods: 58, nodes: 2 });
    expect(usage.get("gpu")?.nodes).toBe(1);
    expect([...usage.keys()].sort()).toEqual(["general", "gpu"]);
  });

  it("charges a claim with the largest capacity among its options, per resource (pessimistic)", () => {
    expect(claimCharge(["small", "large", "wide", "unknown"], (n) => capacities[n])).toEqual({
      cpuMillis: 8000,
      memoryBytes: 32e9,
      nodes: 1,
    });
  });

  it("enforces `nodes`: a pool at its node limit takes no claim, however small", () => {
    const pool = { name: "general", limits: { nodes: 1 } };
    const used = nodePoolUsage([node("a", "general", 2000)]).get("general") ?? {};
    expect(
      exceedsLimits(
        pool,
        used,
        claimCharge(["small"], (n) => capacities[n]),
      ),
    ).toEqual({
      nodePool: "general",
      resource: "nodes",
      limit: 1,
      used: 1,
      adding: 1,
    });
    expect(exceedsLimits({ name: "general", limits: { nodes: 2 } }, used, { nodes: 1 })).toBeUndefined();
  });

  it("a charge that adds nothing to an exceeded resource does not exceed it", () => {
    expect(
      exceedsLimits({ name: "p", limits: { "nvidia.com/gpu": 0 } }, {}, { cpuMillis: 1 }),
    ).toBeUndefined();
  });

  it("tryChargeAll charges all replacements of a command or none", () => {
    const limits = new NodePoolLimits(
      [{ name: "general", limits: { nodes: 2 } }],
      [node("a", "general", 2000)],
    );
    const over = limits.tryChargeAll([
      { nodePool: "general", charge: { nodes: 1 } },
      { nodePool: "general", charge: { nodes: 1 } },
    ]);
    expect(over?.resource).toBe("nodes");
    expect(limits.used("general").nodes).toBe(1);
    expect(limits.tryCharge("general", { nodes: 1 })).toBeUndefined();
    expect(limits.used("general").nodes).toBe(2);
  });

  it("property: claims charged one by one never take a NodePool past a limit it was under", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 6 }),
        fc.record({ cpuMillis: fc.integer({ min: 0, max: 40_000 }), nodes: fc.integer({ min: 0, max: 8 }) }),
        fc.array(fc.subarray(["small", "large", "wide"], { minLength: 1 }), { maxLength: 12 }),
        (existing, limits, claims) => {
          const nodes = existing.map((cpus, i) => node(`n${i}`, "general", cpus * 1000));
          const tracker = new NodePoolLimits([{ name: "general", limits }], nodes);
          const start = tracker.used("general");
          const under = Object.entries(limits).every(([k, l]) => (start[k] ?? 0) <= l);
          for (const options of claims)
            tracker.tryCharge(
              "general",
              claimCharge(options, (n) => capacities[n]),
            );
          const end = tracker.used("general");
          for (const [k, l] of Object.entries(limits))
            if (under) expect(end[k] ?? 0).toBeLessThanOrEqual(l);
            else expect(end[k] ?? 0).toBe(start[k] ?? 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
