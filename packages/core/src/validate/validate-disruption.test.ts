import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { catalog, NOW, node, pod, pool } from "../disruption/fixtures.test-helper.ts";
import type { DisruptionInput } from "../disruption/input.ts";
import { planDisruption } from "../disruption/plan-disruption.ts";
import { PodDisruptionBudgetSchema } from "../model.ts";
import type { DisruptionPlan } from "../plan.ts";
import { validateDisruption } from "./validate-disruption.ts";

let kernel: Kernel;
beforeAll(() => {
  kernel = createKernel({ flavor: "auto" });
});

const input = (): DisruptionInput => ({
  nodes: [
    node("a", "medium"),
    node("b", "medium"),
    node("c", "medium"),
    node("u", "small", { nodePool: undefined }),
  ],
  pods: [pod("a", 1000), pod("b", 1000), pod("c", 3500), pod("u", 1900)],
  nodePools: [pool({ disruption: { budgets: [{ nodes: "100%" }] } })],
  instanceTypes: catalog,
  now: NOW,
});
const rules = (i: DisruptionInput, p: DisruptionPlan) =>
  validateDisruption(i, p).violations.map((v) => v.rule);
const clone = (p: DisruptionPlan): DisruptionPlan => structuredClone(p);

describe("validateDisruption catches broken plans", () => {
  test("the planner's own plan passes", () => {
    const i = input();
    const p = planDisruption(kernel, i);
    expect(p.commands.length).toBeGreaterThan(0);
    expect(validateDisruption(i, p)).toEqual({ ok: true, violations: [] });
  });
  test("a pod sent nowhere, or to a node without room", () => {
    const i = input();
    const p = planDisruption(kernel, i);
    const lost = clone(p);
    for (const c of lost.commands) c.placements = [];
    expect(rules(i, lost)).toContain("placement");
    const crowded = clone(p);
    const c0 = crowded.commands[0];
    if (c0 === undefined) throw new Error("no command");
    // Everything onto the unmanaged node, which has 0.1 cpu free.
    c0.placements = c0.evictions.map((k) => ({ pod: k, node: "u" }));
    expect(rules(i, crowded)).toContain("fit");
  });
  test("savings that do not add up and a wrong afterPerHour", () => {
    const i = input();
    const p = clone(planDisruption(kernel, i));
    (p.commands[0] as { savingsPerHour: number }).savingsPerHour += 1;
    p.cost.afterPerHour -= 0.5;
    expect(rules(i, p)).toEqual(expect.arrayContaining(["savings", "cost"]));
  });
  test("do-not-disrupt, PDBs and budgets", () => {
    const i = input();
    const p = planDisruption(kernel, i);
    const dnd = {
      ...i,
      pods: i.pods.map((x) => ({ ...x, annotations: { "karpenter.sh/do-not-disrupt": "true" } })),
    };
    expect(rules(dnd, p)).toContain("do_not_disrupt");
    const pdb = PodDisruptionBudgetSchema.parse({
      namespace: "default",
      name: "web",
      selector: { matchLabels: { app: "web" } },
      minAvailable: "100%",
    });
    expect(rules({ ...i, pdbs: [pdb] }, p)).toContain("pdb");
    const tight = { ...i, nodePools: [pool({ disruption: { budgets: [{ nodes: "0" }] } })] };
    expect(rules(tight, p)).toContain("budget");
  });
  test("a disrupted node also listed as kept, or a node with no reason", () => {
    const i = input();
    const p = clone(planDisruption(kernel, i));
    const gone = p.commands[0]?.candidates[0] as string;
    p.kept.push({ node: gone, reason: { code: "not_managed" }, message: "" });
    const missing = p.kept.find((k) => k.node !== gone);
    p.kept = p.kept.filter((k) => k !== missing);
    expect(rules(i, p).filter((r) => r === "kept").length).toBeGreaterThanOrEqual(2);
  });
});

/** A random small cluster: 2-6 nodes of the fixture types, each filled to a random share with pods. */
const cluster = fc
  .record({
    nodes: fc.array(
      fc.record({
        type: fc.constantFrom("small", "medium", "large", "big"),
        fill: fc.double({ min: 0, max: 0.95, noNaN: true }),
        sizes: fc.array(fc.constantFrom(250, 500, 1000, 1500), { minLength: 1, maxLength: 12 }),
        dnd: fc.boolean(),
        spot: fc.boolean(),
        expired: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
      }),
      { minLength: 2, maxLength: 6 },
    ),
    budget: fc.constantFrom("10%", "50%", "1", "100%"),
    pdb: fc.option(fc.constantFrom<number | string>(1, "50%", 0), { nil: undefined }),
    mixed: fc.boolean(),
    spotToSpot: fc.boolean(),
  })
  .map(({ nodes, budget, pdb, mixed, spotToSpot }): DisruptionInput => {
    const cpu: Record<string, number> = { small: 2000, medium: 4000, large: 8000, big: 16000 };
    const built = nodes.map((n, i) =>
      node(`n${i}`, n.type, {
        ...(mixed && n.spot ? { capacityType: "spot" } : {}),
        ...(n.expired ? { createdAt: "2026-09-01T00:00:00Z" } : {}),
      }),
    );
    const capacityTypes = mixed ? ["on-demand", "spot"] : ["on-demand"];
    const pods = nodes.flatMap((n, i) => {
      const out = [];
      let used = 0;
      for (const size of n.sizes) {
        if (used + size > n.fill * (cpu[n.type] as number)) break;
        used += size;
        out.push(
          pod(`n${i}`, size, {
            name: `p${i}-${out.length}`,
            labels: { app: i % 2 === 0 ? "even" : "odd" },
            ...(n.dnd && out.length === 0 ? { annotations: { "karpenter.sh/do-not-disrupt": "true" } } : {}),
          }),
        );
      }
      return out;
    });
    return {
      nodes: built,
      pods,
      nodePools: [
        pool({
          template: {
            requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: capacityTypes }],
          },
          disruption: { budgets: [{ nodes: budget }] },
        }),
      ],
      instanceTypes: catalog,
      now: NOW,
      options: { spotToSpotConsolidation: spotToSpot },
      ...(pdb === undefined
        ? {}
        : {
            pdbs: [
              PodDisruptionBudgetSchema.parse({
                namespace: "default",
                name: "even",
                selector: { matchLabels: { app: "even" } },
                maxUnavailable: pdb,
              }),
            ],
          }),
    };
  });

describe("properties on random clusters", () => {
  test("every plan passes the validator, both strategies, serial and strict PDBs", () => {
    let commands = 0;
    fc.assert(
      fc.property(
        cluster,
        fc.constantFrom("nodeplan", "karpenter"),
        fc.constantFrom("serial", "strict"),
        (i, strategy, pdbEvictions) => {
          const withOptions = { ...i, options: { ...i.options, strategy, pdbEvictions } } as DisruptionInput;
          const p = planDisruption(kernel, withOptions);
          commands += p.commands.length;
          expect(validateDisruption(withOptions, p).violations).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
    // The random clusters do exercise disruption.
    expect(commands).toBeGreaterThan(20);
  });
  test("same input, same plan", () => {
    fc.assert(
      fc.property(cluster, (i) => {
        expect(planDisruption(kernel, i)).toEqual(planDisruption(kernel, i));
      }),
      { numRuns: 15 },
    );
  });
  test("nodeplan ends no more expensive than the karpenter strategy", () => {
    fc.assert(
      fc.property(cluster, fc.constantFrom("serial", "strict"), (i, pdbEvictions) => {
        const ours = planDisruption(kernel, {
          ...i,
          options: { ...i.options, pdbEvictions, minSavingsPerHour: 0, minSavingsPercent: 0 },
        });
        const theirs = planDisruption(kernel, {
          ...i,
          options: { ...i.options, pdbEvictions, strategy: "karpenter" },
        });
        expect(ours.cost.afterPerHour).toBeLessThanOrEqual(theirs.cost.afterPerHour + 1e-9);
      }),
      { numRuns: 40 },
    );
  });
});
