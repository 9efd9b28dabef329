import { readdirSync, readFileSync } from "node:fs";
import { createKernel } from "@nodeplan/solver-wasm";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { InstanceTypeSchema, NodePoolSchema, NodeSchema, PodSchema } from "../model.ts";
import type { Plan } from "../plan.ts";
import { validatePlan } from "../validate/validate-plan.ts";
import type { ProvisioningInput } from "./input.ts";
import { provision } from "./provision.ts";

/**
 * Golden provisioning cases in readable YAML (golden/*.yaml). Inputs go through the model's zod
 * schemas; shorthands: an instance type's `cpu`/`memoryGiB`/`price`/`zones`/`capacityTypes` expand to
 * capacity and offerings (`reservations` add reserved offerings at on-demand / 10^7, as the AWS provider
 * prices them), a pod's `cpu` (millis), `memoryGiB` and `replicas` to requests and copies.
 * Every plan must also pass the independent validator and carry no constraint_not_enforced warning.
 */

const GiB = 1024 ** 3;
const NOW = "2026-11-01T00:00:00Z";

const TypeShorthand = z.object({
  name: z.string(),
  cpu: z.number(),
  memoryGiB: z.number(),
  price: z.number(),
  zones: z.array(z.string()).default(["zone-a", "zone-b", "zone-c"]),
  capacityTypes: z.array(z.enum(["reserved", "spot", "on-demand"])).default(["on-demand"]),
  spotDiscount: z.number().default(0.4),
  labels: z.record(z.string(), z.string()).default({}),
  extra: z.record(z.string(), z.number()).default({}),
  reservations: z
    .array(z.object({ id: z.string(), zone: z.string(), capacity: z.number().int().min(0) }))
    .default([]),
});

const PodShorthand = z
  .object({
    name: z.string(),
    replicas: z.number().int().min(1).default(1),
    cpu: z.number().default(1000),
    memoryGiB: z.number().default(1),
    extra: z.record(z.string(), z.number()).default({}),
  })
  .passthrough();

const Expect = z.object({
  placed: z.number().optional(),
  claims: z.number().optional(),
  onExisting: z.number().optional(),
  podsPerZone: z.array(z.number()).optional(),
  zonesUsed: z.number().optional(),
  maxPodsPerNode: z.number().optional(),
  nodePools: z.record(z.string(), z.number()).optional(),
  instanceTypes: z.array(z.string()).optional(),
  capacityTypes: z.array(z.string()).optional(),
  /** Capacity types the claims' requirements allow (launch options, not only the cheapest). */
  claimCapacityTypes: z.array(z.string()).optional(),
  /** Claims per capacity type of their cheapest offering. */
  claimsByCapacityType: z.record(z.string(), z.number()).optional(),
  /** Claims per capacity reservation they launch into (label karpenter.k8s.aws/capacity-reservation-id). */
  reservations: z.record(z.string(), z.number()).optional(),
  unschedulable: z.record(z.string(), z.number()).optional(),
  reason: z.record(z.string(), z.unknown()).optional(),
  /** Warning codes the plan carries, in order. */
  warnings: z.array(z.string()).optional(),
  /** Every claim's instance type options, in order. */
  instanceTypeOptions: z.array(z.string()).optional(),
  /** Annotations every claim carries. */
  annotations: z.record(z.string(), z.string()).optional(),
});

const Case = z.object({
  name: z.string(),
  nodePools: z.array(z.unknown()).default([{ name: "default" }]),
  instanceTypes: z.array(TypeShorthand),
  nodes: z.array(z.unknown()).default([]),
  pods: z.array(PodShorthand),
  boundPods: z.array(PodShorthand).default([]),
  options: z
    .object({
      preferencePolicy: z.enum(["Respect", "Ignore"]).optional(),
      minValuesPolicy: z.enum(["Strict", "BestEffort"]).optional(),
      maxInstanceTypes: z.number().int().min(1).optional(),
    })
    .default({}),
  expect: Expect,
});

function typeOf(t: z.infer<typeof TypeShorthand>) {
  const resources = { cpuMillis: t.cpu * 1000, memoryBytes: t.memoryGiB * GiB, pods: 110, ...t.extra };
  return InstanceTypeSchema.parse({
    name: t.name,
    labels: { "node.kubernetes.io/instance-type": t.name, "kubernetes.io/arch": "amd64", ...t.labels },
    capacity: resources,
    allocatable: resources,
    offerings: [
      ...t.zones.flatMap((zone) =>
        t.capacityTypes.map((capacityType) => ({
          zone,
          capacityType,
          pricePerHour: capacityType === "spot" ? t.price * t.spotDiscount : t.price,
        })),
      ),
      ...t.reservations.map((r) => ({
        zone: r.zone,
        capacityType: "reserved",
        pricePerHour: t.price / 1e7,
        reservationId: r.id,
        reservationCapacity: r.capacity,
      })),
    ],
  });
}

function podsOf(p: z.infer<typeof PodShorthand>, index: { n: number }) {
  const { name, replicas, cpu, memoryGiB, extra, ...rest } = p;
  return Array.from({ length: replicas }, (_, i) => {
    const podName = replicas === 1 ? name : `${name}-${String(i).padStart(2, "0")}`;
    index.n++;
    return PodSchema.parse({
      namespace: "default",
      uid: `uid-${podName}`,
      creationTimestamp: new Date(Date.parse(NOW) + index.n * 1000).toISOString(),
      ...rest,
      name: podName,
      requests: { cpuMillis: cpu, memoryBytes: memoryGiB * GiB, pods: 1, ...extra },
    });
  });
}

/** Loads one golden case: its provisioning input and expectations. */
export function loadGolden(text: string): {
  name: string;
  input: ProvisioningInput;
  expect: z.infer<typeof Expect>;
} {
  const c = Case.parse(parse(text));
  const index = { n: 0 };
  return {
    name: c.name,
    input: {
      pods: [...c.boundPods.flatMap((p) => podsOf(p, index)), ...c.pods.flatMap((p) => podsOf(p, index))],
      nodes: c.nodes.map((n) => NodeSchema.parse({ createdAt: NOW, ...(n as object) })),
      nodePools: c.nodePools.map((p) => NodePoolSchema.parse(p)),
      instanceTypes: c.instanceTypes.map(typeOf),
      now: NOW,
      options: c.options,
    },
    expect: c.expect,
  };
}

function zoneOf(plan: Plan, input: ProvisioningInput, node: string): string {
  const claim = plan.nodeClaims.find((c) => c.name === node);
  return claim?.zone ?? input.nodes.find((n) => n.name === node)?.labels["topology.kubernetes.io/zone"] ?? "";
}

const dir = new URL("./golden/", import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("golden provisioning cases", () => {
  const kernel = createKernel({ flavor: "auto" });
  test.each(files)("%s", (file) => {
    const { input, expect: want } = loadGolden(readFileSync(new URL(file, dir), "utf8"));
    const plan = provision(kernel, input);
    const validation = validatePlan(input, plan);
    expect(validation.violations).toEqual([]);
    expect(plan.warnings.filter((w) => w.code === "constraint_not_enforced")).toEqual([]);
    if (want.placed !== undefined) expect(plan.placements.length).toBe(want.placed);
    if (want.claims !== undefined) expect(plan.nodeClaims.length).toBe(want.claims);
    const existing = new Set(input.nodes.map((n) => n.name));
    if (want.onExisting !== undefined)
      expect(plan.placements.filter((p) => existing.has(p.node)).length).toBe(want.onExisting);
    const perZone = new Map<string, number>();
    const perNode = new Map<string, number>();
    for (const p of plan.placements) {
      const z = zoneOf(plan, input, p.node);
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
      perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    }
    if (want.podsPerZone !== undefined)
      expect([...perZone.values()].sort((a, b) => b - a)).toEqual(want.podsPerZone);
    if (want.zonesUsed !== undefined) expect(perZone.size).toBe(want.zonesUsed);
    if (want.maxPodsPerNode !== undefined)
      expect(Math.max(0, ...perNode.values())).toBeLessThanOrEqual(want.maxPodsPerNode);
    if (want.nodePools !== undefined) {
      const pools: Record<string, number> = {};
      for (const c of plan.nodeClaims) pools[c.nodePool] = (pools[c.nodePool] ?? 0) + 1;
      expect(pools).toEqual(want.nodePools);
    }
    if (want.instanceTypes !== undefined)
      expect(plan.nodeClaims.map((c) => c.instanceType).sort()).toEqual([...want.instanceTypes].sort());
    if (want.capacityTypes !== undefined)
      expect([...new Set(plan.nodeClaims.map((c) => c.capacityType))].sort()).toEqual(want.capacityTypes);
    if (want.claimCapacityTypes !== undefined) {
      const allowed = plan.nodeClaims.flatMap(
        (c) => c.requirements.find((r) => r.key === "karpenter.sh/capacity-type")?.values ?? [],
      );
      expect([...new Set(allowed)].sort()).toEqual(want.claimCapacityTypes);
    }
    const count = (keys: (string | undefined)[]) => {
      const out: Record<string, number> = {};
      for (const k of keys) if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
      return out;
    };
    if (want.claimsByCapacityType !== undefined)
      expect(count(plan.nodeClaims.map((c) => c.capacityType))).toEqual(want.claimsByCapacityType);
    if (want.reservations !== undefined)
      expect(
        count(plan.nodeClaims.map((c) => c.labels?.["karpenter.k8s.aws/capacity-reservation-id"])),
      ).toEqual(want.reservations);
    if (want.unschedulable !== undefined) {
      const codes: Record<string, number> = {};
      for (const u of plan.unschedulable) codes[u.reason.code] = (codes[u.reason.code] ?? 0) + 1;
      expect(codes).toEqual(want.unschedulable);
    }
    if (want.warnings !== undefined) expect(plan.warnings.map((w) => w.code)).toEqual(want.warnings);
    if (want.annotations !== undefined)
      for (const c of plan.nodeClaims) expect(c.annotations).toMatchObject(want.annotations);
    if (want.instanceTypeOptions !== undefined)
      for (const c of plan.nodeClaims) expect(c.instanceTypeOptions).toEqual(want.instanceTypeOptions);
    if (want.reason !== undefined) expect(plan.unschedulable[0]?.reason).toMatchObject(want.reason);
  });
});
