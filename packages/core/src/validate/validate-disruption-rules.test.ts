import { describe, expect, test } from "vitest";
import { catalog, NOW, node, pod, pool } from "../disruption/fixtures.test-helper.ts";
import type { DisruptionInput } from "../disruption/input.ts";
import { type PodDisruptionBudget, PodDisruptionBudgetSchema } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan, PlannedNodeClaim } from "../plan.ts";
import { disruptionRules, validateDisruption } from "./validate-disruption.ts";

/**
 * Every rule of validateDisruption, fired by a hand-built bad plan: the checker is only worth its
 * name if it can say no to each thing it claims to check. The good plan first: node a ($0.20/h, one
 * 1-cpu pod) is deleted and its pod moves to b.
 */

const input = (over: Partial<DisruptionInput> = {}): DisruptionInput => ({
  nodes: [node("a", "medium"), node("b", "medium"), node("u", "small", { nodePool: undefined })],
  pods: [pod("a", 1000, { name: "pa" }), pod("b", 1000, { name: "pb" }), pod("u", 1900, { name: "pu" })],
  nodePools: [pool({ disruption: { budgets: [{ nodes: "100%" }] } })],
  instanceTypes: catalog,
  now: NOW,
  ...over,
});

const claim = (over: Partial<PlannedNodeClaim> = {}): PlannedNodeClaim => ({
  name: "default-0",
  nodePool: "default",
  instanceType: "small",
  instanceTypeOptions: ["small"],
  zone: "z1",
  capacityType: "on-demand",
  pricePerHour: 0.1,
  worstPricePerHour: 0.1,
  requirements: [
    { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
    {
      key: "node.kubernetes.io/instance-type",
      operator: "In",
      values: over.instanceTypeOptions ?? ["small"],
    },
    { key: "topology.kubernetes.io/zone", operator: "In", values: ["z1"] },
  ],
  daemonSetOverhead: {},
  pods: [],
  ...over,
});

const command = (over: Partial<DisruptionCommand> = {}): DisruptionCommand => ({
  wave: 1,
  method: "consolidation",
  reason: "hand-built",
  candidates: ["a"],
  replacements: [],
  evictions: ["default/pa"],
  savingsPerHour: 0.2,
  budget: { nodePool: "default", reason: "Underutilized", consumed: 1 },
  placements: [{ pod: "default/pa", node: "b" }],
  ...over,
});

const kept = (names: readonly string[]): DisruptionPlan["kept"] =>
  names.map((n) => ({ node: n, reason: { code: "no_cheaper_replacement", pricePerHour: 0 }, message: "" }));

const plan = (commands: DisruptionCommand[], over: Partial<DisruptionPlan> = {}): DisruptionPlan => {
  const removed = new Set(commands.flatMap((c) => c.candidates));
  const added = commands.flatMap((c) => c.replacements).reduce((s, r) => s + r.pricePerHour, 0);
  const prices: Record<string, number> = { a: 0.2, b: 0.2, u: 0.1 };
  const current = 0.5;
  const after = current - [...removed].reduce((s, n) => s + (prices[n] ?? 0), 0) + added;
  return {
    commands,
    kept: kept(["a", "b", "u"].filter((n) => !removed.has(n))),
    cost: { currentPerHour: current, afterPerHour: after, lowerBoundPerHour: 0 },
    warnings: [],
    errors: [],
    ...over,
  };
};

const fired = (i: DisruptionInput, p: DisruptionPlan) =>
  new Set(validateDisruption(i, p).violations.map((v) => v.rule));

const pdb = (spec: Partial<PodDisruptionBudget>): PodDisruptionBudget =>
  PodDisruptionBudgetSchema.parse({
    namespace: "default",
    name: "web",
    selector: { matchLabels: { app: "web" } },
    ...spec,
  });

/** Each rule with a plan (and input) that breaks exactly what the rule is about. */
const cases: Record<(typeof disruptionRules)[number], () => [DisruptionInput, DisruptionPlan]> = {
  unknown_node: () => [input(), plan([command({ candidates: ["ghost"], evictions: [], placements: [] })])],
  not_candidate: () => [
    input(),
    plan([
      command({
        candidates: ["u"],
        evictions: ["default/pu"],
        placements: [{ pod: "default/pu", node: "b" }],
      }),
    ]),
  ],
  do_not_disrupt: () => [
    input({
      nodes: [
        node("a", "medium", { annotations: { "karpenter.sh/do-not-disrupt": "true" } }),
        node("b", "medium"),
        node("u", "small", { nodePool: undefined }),
      ],
    }),
    plan([command()]),
  ],
  evictions: () => [input(), plan([command({ evictions: [] })])],
  pdb: () => [input({ pdbs: [pdb({ minAvailable: "100%" })] }), plan([command()])],
  budget: () => [
    input({ nodePools: [pool({ disruption: { budgets: [{ nodes: "0" }] } })] }),
    plan([command()]),
  ],
  karpenter_shape: () => {
    // Two replacements for one node: Karpenter's consolidation is N->0 or N->1.
    const two = [claim({ pods: ["default/pa"] }), claim({ name: "default-1" })];
    return [
      input({ options: { strategy: "karpenter" } }),
      plan([
        command({
          replacements: two,
          savingsPerHour: 0,
          placements: [{ pod: "default/pa", node: "default-0" }],
        }),
      ]),
    ];
  },
  savings: () => [input(), plan([command({ savingsPerHour: 0.5 })])],
  worst_case_savings: () => {
    // a and b ($0.40/h) for two replacements that may each launch as medium ($0.20/h): no saving at worst.
    const r = (name: string, p: string) =>
      claim({ name, instanceTypeOptions: ["small", "medium"], worstPricePerHour: 0.2, pods: [p] });
    return [
      input(),
      plan([
        command({
          candidates: ["a", "b"],
          evictions: ["default/pa", "default/pb"],
          replacements: [r("default-0", "default/pa"), r("default-1", "default/pb")],
          savingsPerHour: 0.2,
          budget: { nodePool: "default", reason: "Underutilized", consumed: 2 },
          placements: [
            { pod: "default/pa", node: "default-0" },
            { pod: "default/pb", node: "default-1" },
          ],
        }),
      ]),
    ];
  },
  replacement_price: () => {
    // Options small and large, but a worst launch price that only counts small.
    const r = claim({
      instanceTypeOptions: ["small", "large"],
      worstPricePerHour: 0.1,
      pods: ["default/pa"],
    });
    return [
      input(),
      plan([
        command({
          replacements: [r],
          savingsPerHour: 0.1,
          placements: [{ pod: "default/pa", node: "default-0" }],
        }),
      ]),
    ];
  },
  spot_to_spot: () => {
    const spot = node("s", "medium", { capacityType: "spot" });
    const r = claim({
      capacityType: "spot",
      pricePerHour: 0.04,
      worstPricePerHour: 0.04,
      pods: ["default/ps"],
      requirements: [
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] },
        { key: "node.kubernetes.io/instance-type", operator: "In", values: ["small"] },
        { key: "topology.kubernetes.io/zone", operator: "In", values: ["z1"] },
      ],
    });
    const i = input({
      nodes: [spot, node("b", "medium")],
      pods: [pod("s", 1000, { name: "ps" }), pod("b", 1000, { name: "pb" })],
      nodePools: [
        pool({
          template: {
            requirements: [
              { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] },
            ],
          },
          disruption: { budgets: [{ nodes: "100%" }] },
        }),
      ],
    });
    return [
      i,
      {
        commands: [
          command({
            candidates: ["s"],
            evictions: ["default/ps"],
            replacements: [r],
            savingsPerHour: 0.04,
            placements: [{ pod: "default/ps", node: "default-0" }],
          }),
        ],
        kept: kept(["b"]),
        cost: { currentPerHour: 0.28, afterPerHour: 0.24, lowerBoundPerHour: 0 },
        warnings: [],
        errors: [],
      },
    ];
  },
  placement: () => [input(), plan([command({ placements: [] })])],
  // u has 0.1 cpu free: a's 1-cpu pod does not fit there.
  fit: () => [input(), plan([command({ placements: [{ pod: "default/pa", node: "u" }] })])],
  cost: () => [
    input(),
    plan([command()], { cost: { currentPerHour: 0.5, afterPerHour: 0.1, lowerBoundPerHour: 0 } }),
  ],
  kept: () => [input(), plan([command()], { kept: kept(["a", "b", "u"]) })],
};

describe("validateDisruption: every rule fires on a hand-built bad plan", () => {
  test("the hand-built good plan passes", () => {
    expect(validateDisruption(input(), plan([command()])).violations).toEqual([]);
  });
  for (const rule of disruptionRules)
    test(rule, () => {
      const [i, p] = cases[rule]();
      expect([...fired(i, p)]).toContain(rule);
    });
  test("the cases cover every rule", () => {
    expect(Object.keys(cases).sort()).toEqual([...disruptionRules].sort());
  });
});
