import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { checkDisruptionInput, checkProvisioningInput } from "./input-check.ts";
import {
  DaemonSetSchema,
  InstanceTypeSchema,
  NodePoolSchema,
  NodeSchema,
  type Pod,
  PodSchema,
} from "./model.ts";
import { instanceType, NOW, pod } from "./provisioning/fixtures.test-helper.ts";
import type { ProvisioningInput } from "./provisioning/input.ts";
import { buildCluster, clusterSpecArb } from "./provisioning/random-cluster.test-helper.ts";
import { createSolver, type Solver } from "./solver.ts";
import { validatePlan } from "./validate/validate-plan.ts";

/** Cases of the fuzz below; NODEPLAN_FUZZ_RUNS runs a longer one locally. */
const FUZZ_RUNS = Number(globalThis.process?.env.NODEPLAN_FUZZ_RUNS ?? 40);

let solver: Solver;
beforeAll(async () => {
  solver = await createSolver();
});

/** Every number in `value`, with where it is. */
function numbers(value: unknown, path = "", out: { path: string; n: number }[] = []) {
  if (typeof value === "number") out.push({ path, n: value });
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) numbers(value[i], `${path}[${i}]`, out);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

const small = clusterSpecArb.filter(
  (s) => s.apps.reduce((n, a) => n + a.replicas, 0) <= 40 && s.nodes.length <= 8,
);

describe("the boundary check", () => {
  test("accepts what the schemas make, and hands the same input on", () => {
    fc.assert(
      fc.property(clusterSpecArb, (spec) => {
        const input = buildCluster(spec);
        const checked = checkProvisioningInput(input);
        expect(checked.errors).toEqual([]);
        expect(checked.input).toBe(input);
        const disruption = { ...input, pdbs: [], interruptions: [], nominated: { "node-0": "default/x" } };
        const d = checkDisruptionInput(disruption);
        expect(d.errors).toEqual([]);
        expect(d.input).toBe(disruption);
      }),
      { numRuns: 40 },
    );
  });

  test("Gt with a value that is not an integer: the schema names the pod's field; the solver reports it and plans the rest", () => {
    const affinity = [{ matchExpressions: [{ key: "version", operator: "Gt", values: ["v2"] }] }];
    const parsed = PodSchema.safeParse({
      namespace: "default",
      name: "bad",
      uid: "u-bad",
      creationTimestamp: NOW,
      requests: { cpuMillis: 100 },
      requiredNodeAffinity: affinity,
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path)).toEqual([
      ["requiredNodeAffinity", 0, "matchExpressions", 0, "values", 0],
    ]);
    // The same pod built by hand, past the schema, among good ones.
    const bad = { ...pod("bad", 100, 1), requiredNodeAffinity: affinity } as Pod;
    const input: ProvisioningInput = {
      pods: [pod("a", 500, 1), bad, pod("b", 500, 1)],
      nodes: [],
      nodePools: [NodePoolSchema.parse({ name: "default" })],
      instanceTypes: [instanceType("m", 2, 8, 0.1)],
      now: NOW,
    };
    const plan = solver.provision(input);
    expect(plan.errors).toEqual([
      {
        source: "ProvisioningInput",
        path: "pods[1].requiredNodeAffinity[0].matchExpressions[0].values[0]",
        code: "invalid_schema",
        message:
          'ProvisioningInput: Pod default/bad: pods[1].requiredNodeAffinity[0].matchExpressions[0].values[0] ("v2") is invalid: expected an integer between -(2^53-1) and 2^53-1',
      },
    ]);
    expect(plan.placements.map((p) => p.pod).sort()).toEqual(["default/a", "default/b"]);
    const checked = checkProvisioningInput(input);
    expect(checked.input?.pods.map((p) => p.name)).toEqual(["a", "b"]);
    expect(validatePlan(checked.input as ProvisioningInput, plan).violations).toEqual([]);
  });

  test("a bound pod that cannot be read closes its node to new pods", () => {
    const node = NodeSchema.parse({
      name: "n1",
      createdAt: NOW,
      labels: { "topology.kubernetes.io/zone": "zone-a" },
      allocatable: { cpuMillis: 4000, memoryBytes: 16 * 1024 ** 3, pods: 110 },
      pricePerHour: 0.2,
    });
    const bound = {
      ...pod("bound", 100, 1),
      nodeName: "n1",
      provisionable: false,
      requests: { cpuMillis: -5 },
    };
    const input: ProvisioningInput = {
      pods: [pod("a", 500, 1), bound as Pod],
      nodes: [node],
      nodePools: [NodePoolSchema.parse({ name: "default" })],
      instanceTypes: [instanceType("m", 2, 8, 0.1)],
      now: NOW,
    };
    const plan = solver.provision(input);
    expect(plan.errors.map((e) => e.path)).toEqual(["pods[1].requests.cpuMillis"]);
    expect(plan.placements).toEqual([{ pod: "default/a", node: "default-0" }]);
    expect(plan.cost.currentPerHour).toBe(0.2);
  });

  test("an input that cannot be read at all gives an empty plan with the reasons, never a throw", () => {
    for (const raw of [
      null,
      42,
      { pods: "x", nodes: [], nodePools: [], instanceTypes: [], now: NOW },
      { pods: [], nodes: [], nodePools: [], instanceTypes: 5, now: NOW },
      { pods: [], nodes: [], nodePools: [], instanceTypes: [], now: "yesterday" },
    ]) {
      const plan = solver.provision(raw as unknown as ProvisioningInput);
      expect(plan.nodeClaims).toEqual([]);
      expect(plan.errors.length).toBeGreaterThan(0);
      const d = solver.planDisruption(raw as never);
      expect(d.commands).toEqual([]);
      expect(d.errors.length).toBeGreaterThan(0);
    }
    const plan = solver.provision({ pods: [], nodes: [], nodePools: [], instanceTypes: [], now: "x" });
    expect(plan.errors).toEqual([
      expect.objectContaining({ path: "now", code: "invalid_schema", source: "ProvisioningInput" }),
    ]);
  });

  test("an unreadable PodDisruptionBudget protects its namespace", () => {
    const checked = checkDisruptionInput({
      nodes: [],
      pods: [],
      nodePools: [],
      instanceTypes: [],
      pdbs: [
        {
          namespace: "web",
          name: "pdb",
          selector: { matchLabels: {}, matchExpressions: [] },
          minAvailable: "x",
          unhealthyPodEvictionPolicy: "IfHealthyBudget",
        },
      ],
      now: NOW,
    });
    expect(checked.errors.map((e) => e.path)).toEqual([["pdbs", 0, "minAvailable"]]);
    expect(checked.input?.pdbs).toEqual([
      {
        namespace: "web",
        name: "pdb",
        selector: { matchLabels: {}, matchExpressions: [] },
        maxUnavailable: 0,
        unhealthyPodEvictionPolicy: "IfHealthyBudget",
      },
    ]);
  });
});

/** Every path into `value` (objects and lists), outermost first. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) paths(value[i], [...at, i], out);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

const mutations: ((v: unknown) => unknown)[] = [
  () => Number.NaN,
  () => -1,
  () => 2 ** 53,
  () => Number.MAX_SAFE_INTEGER,
  () => 1e300,
  () => Number.POSITIVE_INFINITY,
  () => 0.5,
  () => "",
  () => "v2",
  () => null,
  () => undefined,
  () => [],
  () => ({}),
  () => true,
  (v) => (typeof v === "number" ? -v : typeof v === "string" ? `${v}!` : v),
  (v) => (Array.isArray(v) ? [...v, ...v] : v),
  // A requirement turned into Gt: its values are no integer (zone names) or one that is.
  (v) => (typeof v === "object" && v !== null && "operator" in v ? { ...v, operator: "Gt" } : v),
  (v) =>
    typeof v === "object" && v !== null && "operator" in v ? { ...v, operator: "Lt", values: ["3"] } : v,
];

/** `value` with the node at `path` replaced by `mutate(node)` (deleted when it gives undefined). */
function mutated(
  value: unknown,
  path: readonly (string | number)[],
  mutate: (v: unknown) => unknown,
): unknown {
  if (path.length === 0) return mutate(value);
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  const next = mutated(copy[head], rest, mutate);
  if (next === undefined && !Array.isArray(copy)) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** Deep equality of plain data (key order aside). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const schemaOf: Record<string, { safeParse: (v: unknown) => { success: boolean; data?: unknown } }> = {
  pods: PodSchema,
  nodes: NodeSchema,
  nodePools: NodePoolSchema,
  instanceTypes: InstanceTypeSchema,
  daemonSets: DaemonSetSchema,
};

describe("fuzz: mutated inputs never throw, never give NaN, and the check agrees with the schemas", () => {
  test("provisioning and disruption", { timeout: 60_000 + FUZZ_RUNS * 1_000 }, () => {
    let rejected = 0;
    fc.assert(
      fc.property(
        small,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: mutations.length - 1 })), { minLength: 1, maxLength: 3 }),
        (spec, edits) => {
          let input: unknown = buildCluster(spec);
          for (const [p, m] of edits) {
            const all = paths(input).filter(
              (x) => x.length >= 2 && typeof x[0] === "string" && x[0] in schemaOf,
            );
            const path = all[p % all.length];
            if (path !== undefined) input = mutated(input, path, mutations[m] as (v: unknown) => unknown);
          }
          const raw = input as ProvisioningInput;
          const checked = checkProvisioningInput(raw);
          // The check and the schemas agree on each object: it passes exactly what a schema leaves as it is.
          for (const key of Object.keys(schemaOf)) {
            const list = (raw as unknown as Record<string, unknown>)[key];
            if (!Array.isArray(list)) continue;
            list.forEach((obj, i) => {
              const mine = checked.errors.filter((e) => e.path[0] === key && e.path[1] === i);
              if (mine.some((e) => e.expected?.includes("no earlier"))) return;
              const parsed = (schemaOf[key] as (typeof schemaOf)[string]).safeParse(obj);
              const model = parsed.success && sameValue(parsed.data, obj);
              expect({ key, i, accepted: mine.length === 0 }).toEqual({ key, i, accepted: model });
            });
          }
          if (checked.errors.length > 0) rejected++;
          const plan = solver.provision(raw);
          expect(numbers(plan).filter((x) => !Number.isFinite(x.n))).toEqual([]);
          if (checked.input !== undefined) {
            expect(plan.errors.length).toBe(checked.errors.length);
            expect(validatePlan(checked.input, plan).violations).toEqual([]);
          }
          const d = solver.planDisruption({ ...(raw as object), now: "2026-11-02T00:00:00Z" } as never);
          expect(numbers(d).filter((x) => Number.isNaN(x.n))).toEqual([]);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    // The fuzz is about bad input: most cases must have been rejected somewhere.
    expect(rejected).toBeGreaterThan(FUZZ_RUNS / 2);
  });
});
