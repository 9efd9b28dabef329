// The browser-safe input preparation (`@nodeplan/cli/prepare`) over texts: the same inputs as the CLI's
// file reading, the defaults, the catalog from a text, located errors. That it bundles for a browser is
// test/src/browser-safe.test.ts (and the playground's build).
import { join, resolve } from "node:path";
import { offlineCatalog } from "@nodeplan/aws-provider";
import { InputValidationError } from "@nodeplan/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadInputs, nodeSchemas, readInputs } from "./inputs.ts";
import {
  catalogFromText,
  describeFailure,
  embeddedCatalog,
  planFor,
  prepareInputs,
  prepareOptions,
  UsageError,
  unrestrictedNodePool,
} from "./prepare.ts";

const repo = resolve(import.meta.dirname, "../../..");
const NOW = "2026-11-02T10:30:00Z";
const noErrors = { zones: undefined, capacityTypes: undefined };

const deployment = (name: string, cpu = "500m") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - {name: app, image: app, resources: {requests: {cpu: ${cpu}, memory: 1Gi}}}
`;

/** An existing node of `type`, with or without a price of its own. */
const node = (name: string, type: string, zone: string, capacityType: string) => `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
    node.kubernetes.io/instance-type: ${type}
    topology.kubernetes.io/zone: ${zone}
    karpenter.sh/capacity-type: ${capacityType}
status:
  allocatable: {cpu: "1930m", memory: 7Gi, pods: "29"}
  capacity: {cpu: "2", memory: 8Gi, pods: "29"}
`;

describe("prepareInputs over texts", () => {
  for (const name of ["production-api", "gpu-and-batch", "kubectl-dump"])
    it(`${name}: the same inputs as the CLI reading the directory`, async () => {
      const dir = join(repo, "examples", name);
      const fromFiles = await loadInputs([dir], { now: NOW });
      const fromTexts = await prepareInputs(
        readInputs([dir]),
        prepareOptions({ now: NOW, schemas: nodeSchemas }),
      );
      expect(fromTexts).toEqual(fromFiles);
    });

  it("no NodePool: Karpenter's getting-started one, said in a note, only the offered zones", async () => {
    const inputs = await prepareInputs(
      [{ source: "w.yaml", text: deployment("web") }],
      prepareOptions({ now: NOW, zones: "us-east-1b" }),
    );
    const [pool] = inputs.cluster.nodePools;
    expect(pool?.name).toBe("default");
    expect(pool?.template.requirements).toEqual([
      { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
      { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
      { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
      { key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] },
      { key: "karpenter.k8s.aws/instance-generation", operator: "Gt", values: ["2"] },
    ]);
    expect(inputs.notes).toContainEqual(
      expect.stringMatching(/getting-started NodePool "default" \(linux, amd64, on-demand/),
    );
    const types = inputs.instanceTypes.default ?? [];
    expect(types.length).toBeGreaterThan(0);
    for (const t of types) expect(t.labels["karpenter.k8s.aws/instance-category"]).toMatch(/^[cmr]$/);
    const plan = await planFor(inputs);
    expect(plan.placements).toHaveLength(2);
    for (const c of plan.nodeClaims) expect([c.zone, c.capacityType]).toEqual(["us-east-1b", "on-demand"]);
  });

  it("zones are checked against the catalog's region; a NodePool in the input means no default one", async () => {
    await expect(
      prepareInputs(
        [{ source: "w.yaml", text: deployment("web") }],
        prepareOptions({ now: NOW, zones: "us-west-2a" }),
      ),
    ).rejects.toThrow(
      /^--zones us-west-2a: not a zone of the us-east-1 catalog \(zones of us-east-1 are named us-east-1a/,
    );
    const invalid = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: { name: broken }
spec:
  template:
    spec:
      requirements: [{ key: kubernetes.io/arch, operator: Contains, values: [amd64] }]
      nodeClassRef: { group: karpenter.k8s.aws, kind: EC2NodeClass, name: default }
`;
    const texts = [
      { source: "w.yaml", text: deployment("web") },
      { source: "pool.yaml", text: invalid },
    ];
    await expect(prepareInputs(texts, prepareOptions({ now: NOW }))).rejects.toThrow(
      /pool\.yaml, document 1: NodePool broken: .*\nan invalid NodePool or node class stops the plan .* --skip-invalid-nodepools/s,
    );
    const skipped = await prepareInputs(texts, prepareOptions({ now: NOW, skipInvalidNodePools: true }));
    expect(skipped.cluster.nodePools).toEqual([]);
    expect(skipped.errors).toHaveLength(1);
    const plan = await planFor(skipped);
    expect(plan.nodeClaims).toEqual([]);
    expect(plan.unschedulable).toHaveLength(2);
  });

  it("existing nodes get the catalog price of their type, zone and capacity type", async () => {
    const inputs = await prepareInputs(
      [
        {
          source: "n.yaml",
          text: `${node("a", "m5.large", "us-east-1a", "spot")}---\n${node("b", "no.such", "us-east-1a", "on-demand")}`,
        },
      ],
      prepareOptions({ now: NOW }),
    );
    // The default NodePool is on-demand only; the node's spot price comes from the whole catalog.
    const all = await embeddedCatalog({ zones: undefined, capacityTypes: undefined }).source.instanceTypes(
      unrestrictedNodePool(),
      undefined,
    );
    // m5.large has a (May 2022) spot price in us-east-1a; offline, a type without one has no spot offering.
    const m5 = all.find((t) => t.name === "m5.large");
    const spot = m5?.offerings.find((o) => o.zone === "us-east-1a" && o.capacityType === "spot");
    expect(spot).toBeDefined();
    const [a, b] = inputs.cluster.nodes;
    expect(a?.pricePerHour).toBe(spot?.pricePerHour);
    expect(b?.pricePerHour).toBeUndefined();
  });

  it("a bad manifest is a located error; the valid ones are still used", async () => {
    const inputs = await prepareInputs(
      [{ source: "mixed.yaml", text: `${deployment("ok")}---\n${deployment("bad", "lots")}` }],
      prepareOptions({ now: NOW }),
    );
    expect(inputs.errors).toHaveLength(1);
    expect(inputs.errors[0]?.message).toMatch(
      /^mixed\.yaml, document 2: .*cpu \("lots"\) is not a valid quantity/,
    );
    expect(inputs.cluster.pods.filter((p) => p.nodeName === undefined)).toHaveLength(2);
  });

  it("property: every offered instance type offers only the asked zones and capacity types", async () => {
    const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(zones, { minLength: 1 }),
        fc.subarray(["on-demand", "spot"], { minLength: 1 }),
        async (z, c) => {
          const inputs = await prepareInputs(
            [{ source: "ns.yaml", text: "apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n" }],
            prepareOptions({ now: NOW, zones: z.join(","), capacityTypes: c.join(" , ") }),
          );
          // The default NodePool is on-demand only; the offerings still keep to the asked ones.
          for (const t of inputs.instanceTypes.default ?? [])
            for (const o of t.offerings) {
              expect(z).toContain(o.zone);
              expect(c).toContain(o.capacityType);
            }
        },
      ),
      { numRuns: 10 },
    );
  });
});

describe("options and catalogs", () => {
  it("a bad time or capacity type is refused naming the option as the caller calls it", () => {
    expect(() => prepareOptions({ now: "yesterday" })).toThrow(
      new UsageError('--now "yesterday" is not a time (use RFC 3339, e.g. 2026-11-01T00:00:00Z)'),
    );
    expect(() => prepareOptions({ now: "yesterday", names: { now: "now" } })).toThrow(/^now "yesterday"/);
    expect(() =>
      prepareOptions({ capacityTypes: "spot,cheap", names: { capacityTypes: "capacity types" } }),
    ).toThrow(/^capacity types: "cheap" is not a capacity type \(use .*spot/);
    expect(prepareOptions({ now: "2026-11-02T11:30:00+01:00" }).now).toBe("2026-11-02T10:30:00.000Z");
  });

  it("a catalog text: not JSON or not a catalog is a UsageError naming it; a bad entry is a plan error", () => {
    expect(() => catalogFromText({ source: "c.json", text: "{nope" }, noErrors, [], "catalog")).toThrow(
      /^catalog c\.json: /,
    );
    expect(() => catalogFromText({ source: "c.json", text: '{"apiVersion": 1}' }, noErrors, [])).toThrow(
      UsageError,
    );
    const file = offlineCatalog({ zones: ["us-east-1a"], generatedAt: NOW });
    const [first, ...rest] = file.instanceTypes;
    const broken = { ...first, allocatable: { ...first?.allocatable, cpu: "lots" } };
    const errors: Parameters<typeof catalogFromText>[2] = [];
    const text = JSON.stringify({ ...file, instanceTypes: [broken, ...rest] });
    const opened = catalogFromText({ source: "c.json", text }, noErrors, errors);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.source).toBe("c.json");
    expect(errors[0]?.message).toContain("lots");
    expect(opened.region).toBe(file.region);
  });

  it("an uploaded catalog text plans as the same catalog file through the CLI", async () => {
    const file = offlineCatalog({ zones: ["us-east-1a"], generatedAt: NOW });
    const text = JSON.stringify({ ...file, instanceTypes: file.instanceTypes.slice(0, 20) });
    const inputs = await prepareInputs(
      [{ source: "w.yaml", text: deployment("web") }],
      prepareOptions({ now: NOW }),
      { source: "small.json", text },
    );
    const names = new Set(file.instanceTypes.slice(0, 20).map((t) => t.name));
    for (const t of inputs.instanceTypes.default ?? []) expect(names.has(t.name)).toBe(true);
  });

  it("describeFailure: one message for usage errors, located input errors, anything else", () => {
    expect(describeFailure(new UsageError("bad flag"))).toBe("bad flag");
    const located = new InputValidationError([
      { source: "f.yaml", path: [1, "spec"], code: "invalid_schema", detail: "expected an object" },
    ]);
    expect(describeFailure(located)).toMatch(/^f\.yaml, document 2: /);
    expect(describeFailure(new Error("boom"))).toBe("unexpected failure: boom");
  });
});
