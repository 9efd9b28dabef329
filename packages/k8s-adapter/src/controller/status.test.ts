import type { DisruptionPlan, Plan, PlannedNodeClaim } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { bytesOf, STATUS_MAX_BYTES, statusData } from "./status.ts";

/** A plan of a large cluster: 5,000 pending pods (1,000 claims for 3,000, 2,000 unschedulable) on 3,000 nodes. */
function largePlan(): { plan: Plan; disruption: DisruptionPlan } {
  const pod = (i: number) => `team-${i % 40}/worker-${"x".repeat(60)}-${i}`;
  const options = Array.from({ length: 600 }, (_, i) => `m${5 + (i % 3)}.${i}xlarge`);
  const nodeClaims: PlannedNodeClaim[] = Array.from({ length: 1000 }, (_, c) => ({
    name: `general-${c}`,
    nodePool: "general",
    instanceType: "m5.xlarge",
    instanceTypeOptions: options,
    zone: "us-east-1a",
    capacityType: "on-demand",
    pricePerHour: 0.192 + c / 1e6,
    worstPricePerHour: 0.4,
    requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: options }],
    daemonSetOverhead: { cpuMillis: 100 },
    pods: [pod(3 * c), pod(3 * c + 1), pod(3 * c + 2)],
  }));
  const unschedulable = Array.from({ length: 2000 }, (_, i) => ({
    pod: pod(3000 + i),
    reason: { code: "nodepool_limit_reached" as const, nodePool: "general", resource: "cpu" },
    message: `pod ${pod(3000 + i)} cannot be placed: NodePool general has reached its cpu limit (${"details ".repeat(30)})`,
  }));
  const plan = {
    nodeClaims,
    placements: nodeClaims.flatMap((c) => c.pods.map((p) => ({ pod: p, node: c.name }))),
    unschedulable,
    cost: { currentPerHour: 600, newPerHour: 192, plannedPerHour: 792, lowerBoundPerHour: 180, ratio: 1.07 },
    lowerBound: { method: "lp", certificate: { big: "x".repeat(100_000) } },
    warnings: [],
    errors: [],
  } as unknown as Plan;
  const disruption = {
    commands: [],
    kept: Array.from({ length: 3000 }, (_, i) => ({
      node: `ip-10-0-${Math.floor(i / 250)}-${i % 250}.ec2.internal`,
      reason: { code: "no_cheaper_replacement" as const, pricePerHour: 0.192 },
      message: `node ip-10-0-${i} is kept: its pods would not fit elsewhere (${"reason ".repeat(20)})`,
    })),
    cost: { currentPerHour: 600, afterPerHour: 600, lowerBoundPerHour: 500 },
    warnings: [],
    errors: [],
  } as unknown as DisruptionPlan;
  return { plan, disruption };
}

describe("status ConfigMap", () => {
  it("stays under 900 KiB with 5,000 pending pods on 3,000 nodes, totals and counts complete", () => {
    const { plan, disruption } = largePlan();
    // What the status held before it was bounded: well over the apiserver's 1 MiB.
    const unbounded = Buffer.byteLength(JSON.stringify({ plan, disruption }));
    expect(unbounded).toBeGreaterThan(1024 * 1024);
    const data = statusData(plan, disruption, { mode: "advisory" });
    expect(bytesOf(data)).toBeLessThanOrEqual(STATUS_MAX_BYTES);
    expect(data.summary).toContain("new NodeClaims: 1000 for 3000 pod(s)");
    expect(data.summary).toContain("unschedulable pods: 2000 (nodepool_limit_reached: 2000)");
    expect(data.summary).toContain("nodes kept: 3000 (no_cheaper_replacement: 3000)");
    const planJson = JSON.parse(data["plan.json"] as string);
    expect(planJson.nodeClaimsTotal).toBe(1000);
    expect(planJson.unschedulableTotal).toBe(2000);
    expect(planJson.unschedulableByReason).toEqual({ nodepool_limit_reached: 2000 });
    expect(planJson.nodeClaims.length).toBeGreaterThan(0);
    expect(planJson.nodeClaims.length).toBeLessThan(1000);
    // Claims listed most expensive first, options cut to 10.
    expect(planJson.nodeClaims[0].name).toBe("general-999");
    expect(planJson.nodeClaims[0].instanceTypeOptions).toHaveLength(10);
    const disruptionJson = JSON.parse(data["disruption.json"] as string);
    expect(disruptionJson.keptTotal).toBe(3000);
    expect(disruptionJson.keptByReason).toEqual({ no_cheaper_replacement: 3000 });
  });

  it("halves the lists until the data fits a smaller cap", () => {
    const { plan, disruption } = largePlan();
    for (const maxBytes of [200_000, 50_000, 20_000]) {
      const data = statusData(plan, disruption, { mode: "acting" }, { maxBytes });
      expect(bytesOf(data)).toBeLessThanOrEqual(maxBytes);
      expect(data.summary).toContain("mode: acting");
    }
  });
});
