// The commands' logic in-process (the subprocess tests in cli.test.ts cover the wiring, exit codes and
// JSON): reports, explanations, catalog files and located errors on the examples.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DisruptionPlanSchema, type Plan } from "@nodeplan/core";
import { describe, expect, it } from "vitest";
import { catalogShow, loadCatalog } from "./catalog-command.ts";
import {
  disruptionFor,
  loopFor,
  renderDisruptionReport,
  renderLoopReport,
  writeLoop,
} from "./consolidate.ts";
import { explainNode, explainPod } from "./explain.ts";
import { type LoadedInputs, loadInputs, renderLocatedError, UsageError } from "./inputs.ts";
import { planFor, renderPlanReport, table } from "./plan-command.ts";
import { paintFor, progress } from "./terminal.ts";

const repo = resolve(import.meta.dirname, "../../..");
const NOW = "2026-12-01T08:30:00Z";
const tmp = mkdtempSync(join(tmpdir(), "nodeplan-commands-"));
const plain = paintFor(process.stdout, false);

const loaded = new Map<string, { inputs: LoadedInputs; plan: Plan }>();
async function example(name: string, now = NOW) {
  const key = `${name}@${now}`;
  const hit = loaded.get(key);
  if (hit !== undefined) return hit;
  const inputs = await loadInputs([join(repo, "examples", name)], { now });
  const out = { inputs, plan: await planFor(inputs) };
  loaded.set(key, out);
  return out;
}

describe("plan report", () => {
  it("groups new nodes by NodePool, type, zone and capacity type with counts and $/h", async () => {
    const run = await example("gpu-and-batch");
    const text = renderPlanReport({ ...run, cluster: run.inputs.cluster }, plain);
    for (const c of run.plan.nodeClaims) expect(text).toContain(c.instanceType);
    const rows = text.split("\n").filter((l) => /^\s+\d+ +(gpu|general) /.test(l));
    const counted = rows.reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
    expect(counted).toBe(run.plan.nodeClaims.length);
    // Each row's total is count x each.
    for (const row of rows) {
      const cells = row.trim().split(/\s+/);
      expect(Number(cells[6])).toBeCloseTo(Number(cells[0]) * Number(cells[5]), 3);
    }
    expect(text).toContain(`pods placed on new nodes:      ${run.plan.placements.length}`);
  });

  it("production-api at its planning time: pods on existing vs new nodes add up", async () => {
    const run = await example("production-api", "2026-11-02T10:30:00Z");
    const text = renderPlanReport({ ...run, cluster: run.inputs.cluster }, plain);
    const existing = Number(/pods placed on existing nodes: (\d+)/.exec(text)?.[1]);
    const fresh = Number(/pods placed on new nodes: +(\d+)/.exec(text)?.[1]);
    expect(existing).toBeGreaterThan(0);
    expect(existing + fresh).toBe(40);
  });

  it("color codes only when asked (a TTY), never in the plain report", async () => {
    const run = await example("kubectl-dump");
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      expect(renderPlanReport({ ...run, cluster: run.inputs.cluster }, paintFor(tty, true))).toContain(
        "\u001b[1m",
      );
      expect(renderPlanReport({ ...run, cluster: run.inputs.cluster }, paintFor(tty, false))).not.toContain(
        "\u001b[",
      );
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
  });

  it("table pads columns and right-aligns the first ones", () => {
    expect(
      table(
        [
          ["n", "name"],
          ["10", "x"],
        ],
        1,
      ),
    ).toEqual([" n  name", "10  x"]);
  });
});

describe("explain", () => {
  it("a GPU pod: the GPU NodePool's types narrow to g5/g6, the general NodePool has no GPU", async () => {
    const { inputs, plan } = await example("gpu-and-batch");
    const text = explainPod(inputs, plan, "ml/embeddings-0");
    expect(text).toMatch(/requests: cpu 2, memory 8Gi, pods 1, nvidia\.com\/gpu 1/);
    expect(text).toMatch(/tolerations: nvidia\.com\/gpu exists:NoSchedule/);
    expect(text).toMatch(/goes to new node gpu-\d+: NodePool gpu, g[56]\.\w+ in us-east-1\w \(on-demand\)/);
    expect(text).toMatch(/NodePool gpu \(weight 10\): \d+ instance types allowed/);
    expect(text).toMatch(/-> 0 have room .*\d+ by not enough nvidia\.com\/gpu/);
  });

  it("a batch pod: the GPU NodePool is ruled out by its taint, spot narrows the general NodePool", async () => {
    const { inputs, plan } = await example("gpu-and-batch");
    const text = explainPod(inputs, plan, "ml/feature-extract-0");
    expect(text).toMatch(/node selector: karpenter\.sh\/capacity-type=spot/);
    expect(text).toMatch(
      /NodePool gpu \(weight 10\): ruled out, the pod does not tolerate its taint nvidia\.com\/gpu=true:NoSchedule/,
    );
    expect(text).toMatch(/goes to new node general-\d+: .*\(spot\)/);
  });

  it("an unschedulable pod says why, with the reason code", async () => {
    const path = join(tmp, "huge.yaml");
    writeFileSync(
      path,
      `apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: batch}
spec:
  containers: [{name: a, image: x, resources: {requests: {cpu: "5000"}}}]
status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable}]
`,
    );
    const inputs = await loadInputs([path], { now: NOW });
    const plan = await planFor(inputs);
    const text = explainPod(inputs, plan, "huge");
    expect(text).toMatch(/cannot be placed: too large for any instance type.*\[too_large_for_any_type\]/);
    expect(text).toMatch(
      /-> 0 have room for its requests next to the DaemonSets \(too small: \d+ by not enough cpu\)/,
    );
  });

  it("a bound pod and a planned NodeClaim", async () => {
    const { inputs, plan } = await example("kubectl-dump");
    expect(explainPod(inputs, plan, "shop/worker-58c4d7b9f6-x2k9p")).toMatch(
      /bound to node ip-10-1-3-12\.ec2\.internal \(c6i\.large, us-east-1c, spot, NodePool default, \$\d\.\d{4}\/h\), phase Running/,
    );
    const claim = plan.nodeClaims[0];
    if (claim === undefined) throw new Error("kubectl-dump plans no claim");
    const text = explainNode(inputs, plan, claim.name);
    expect(text).toContain(`new node ${claim.name} (planned NodeClaim of NodePool default)`);
    expect(text).toContain(`pods (${claim.pods.length}): ${claim.pods[0]}`);
  });

  it("an existing node with the disruption plan: why it stays or goes", async () => {
    const { inputs, plan } = await example("kubectl-dump");
    const disruption = await disruptionFor(inputs);
    for (const node of inputs.cluster.nodes) {
      const text = explainNode(inputs, plan, node.name, disruption);
      const command = disruption.commands.find((c) => c.candidates.includes(node.name));
      const kept = disruption.kept.find((k) => k.node === node.name);
      if (command !== undefined)
        expect(text).toMatch(new RegExp(`goes: wave ${command.wave}, ${command.method}`));
      else if (kept !== undefined) expect(text).toContain(`[${kept.reason.code}]`);
      else expect(text).toMatch(/stays: no disruption method applies/);
    }
    expect(explainNode(inputs, plan, "ip-10-1-0-5.ec2.internal", disruption)).toMatch(
      /requested: +cpu 300m, memory 140Mi, pods 3 \(cpu 16%, memory 2%\)/,
    );
  });

  it("unknown names are usage errors", async () => {
    const { inputs, plan } = await example("kubectl-dump");
    expect(() => explainPod(inputs, plan, "nope")).toThrow(UsageError);
    expect(() => explainNode(inputs, plan, "nope")).toThrow(/no node nope in the input or the plan/);
  });
});

describe("consolidate", () => {
  it("both strategies give a valid DisruptionPlan; the report lists waves, kept reasons and costs", async () => {
    const { inputs } = await example("kubectl-dump");
    for (const strategy of ["nodeplan", "karpenter"] as const) {
      const plan = DisruptionPlanSchema.parse(await disruptionFor(inputs, strategy));
      const text = renderDisruptionReport(plan, inputs, plain);
      for (const c of plan.commands) expect(text).toContain(`wave ${c.wave}`);
      for (const k of plan.kept) expect(text).toContain(`[${k.reason.code}]`);
      expect(text).toMatch(/after: +\$\d+\.\d{4}\/h/);
      expect(plan.cost.afterPerHour).toBeLessThanOrEqual(plan.cost.currentPerHour + 1e-9);
    }
  });

  it("--loop: the controller's passes, each saving, ending at a fixed point; JSON leaves the cluster out", async () => {
    const { inputs } = await example("kubectl-dump");
    const loop = await loopFor(inputs, "nodeplan");
    expect(loop.converged).toBe(true);
    expect(loop.passes.length).toBeGreaterThan(0);
    let cost = loop.initial.costPerHour;
    for (const p of loop.passes) {
      expect(p.costPerHour).toBeLessThan(cost);
      cost = p.costPerHour;
    }
    const text = renderLoopReport(loop, inputs, plain);
    expect(text).toContain(`${loop.passes.length} passes`);
    expect(text).toMatch(/fixed point at /);
    expect(text).toContain(`-> ${loop.final.nodes}`);
    let json = "";
    writeLoop(
      loop,
      inputs,
      "json",
      (chunk) => {
        json += chunk;
      },
      plain,
    );
    const parsed = JSON.parse(json);
    expect(parsed.cluster).toBeUndefined();
    expect(parsed.passes).toHaveLength(loop.passes.length);
    expect(parsed.final.costPerHour).toBe(loop.final.costPerHour);
  });

  it("--at is validated", async () => {
    await expect(
      loadInputs([join(repo, "examples/kubectl-dump")], { now: "soon", timeFlag: "--at" }),
    ).rejects.toThrow(/--at "soon" is not a time/);
  });
});

describe("catalogs", () => {
  it("catalog show -o json round-trips through --catalog <file>", async () => {
    const { text } = await catalogShow({ filter: "c7", zones: "us-east-1b", output: "json" }, plain);
    const path = join(tmp, "c7.json");
    writeFileSync(path, text);
    const inputs = await loadInputs([join(repo, "examples/kubectl-dump")], { now: NOW, catalog: path });
    const plan = await planFor(inputs);
    expect(plan.errors).toEqual([]);
    expect(plan.nodeClaims.length).toBeGreaterThan(0);
    // Per-node costs are folded in once: each claim costs what the file's offering says (the file was
    // written with the same defaults), its split summing to its price.
    const offered = new Map<string, number>();
    for (const t of JSON.parse(text).instanceTypes)
      for (const o of t.offerings) offered.set(`${t.name} ${o.zone} ${o.capacityType}`, o.pricePerHour);
    for (const c of plan.nodeClaims) {
      expect(c.instanceType).toMatch(/^c7/);
      expect(c.zone).toBe("us-east-1b");
      expect(c.pricePerHour).toBeCloseTo(
        offered.get(`${c.instanceType} ${c.zone} ${c.capacityType}`) ?? -1,
        12,
      );
      expect(c.costs?.storagePerHour).toBeGreaterThan(0);
    }
    // The file carries the offline catalog's spot warning into plans made from it.
    expect(plan.warnings.map((w) => w.code)).toContain("spot_price_unknown");
  });

  it("a catalog file with a bad entry: that entry is an error, the rest is used", async () => {
    const { text } = await catalogShow({ filter: "m6i.", output: "json" }, plain);
    const file = JSON.parse(text);
    file.instanceTypes[0].allocatable.cpu = "many";
    const path = join(tmp, "bad-entry.json");
    writeFileSync(path, JSON.stringify(file));
    const inputs = await loadInputs([join(repo, "examples/kubectl-dump")], { now: NOW, catalog: path });
    expect(inputs.errors).toHaveLength(1);
    expect(inputs.errors[0]?.message).toMatch(
      new RegExp(
        `${path}: ${file.instanceTypes[0].name}: instanceTypes\\[0\\]\\.allocatable\\.cpu \\("many"\\)`,
      ),
    );
    expect(inputs.instanceTypes.default?.length).toBe(file.instanceTypes.length - 1);
  });

  it("a file that is no catalog, a missing file, and an empty filter are usage errors", async () => {
    const path = join(tmp, "not-a-catalog.json");
    writeFileSync(path, JSON.stringify({ hello: "world" }));
    await expect(loadCatalog({ catalog: path })).rejects.toThrow(UsageError);
    await expect(loadCatalog({ catalog: join(tmp, "missing.json") })).rejects.toThrow(/no such file/);
    await expect(catalogShow({ filter: "zz9" }, plain)).rejects.toThrow(
      /no instance type of the catalog matches/,
    );
  });
});

describe("located input errors", () => {
  it("names file, document, List item, object and field", () => {
    expect(
      renderLocatedError({
        code: "invalid_quantity",
        source: "dump.json",
        object: "Pod shop/web",
        path: [0, "items", 7, "spec", "containers", 0, "resources", "requests", "cpu"],
        value: "1 core",
      }),
    ).toBe(
      'dump.json, document 1, items[7]: Pod shop/web: spec.containers[0].resources.requests.cpu ("1 core") is not a valid quantity',
    );
    expect(
      renderLocatedError({ code: "invalid_schema", source: "catalog.json", path: ["instanceTypes", 2] }),
    ).toBe("catalog.json: instanceTypes[2] is invalid");
  });
});

describe("progress indicator", () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return {
      written,
      stream: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream,
    };
  };

  it("draws on a TTY once the work is slow, and clears its line", () => {
    const { written, stream: tty } = stream(true);
    const p = progress(tty, 0);
    p.step("planning 63 pending pods");
    p.done();
    expect(written[0]?.startsWith("\r\u001b[2K")).toBe(true);
    expect(written[0]?.endsWith(" planning 63 pending pods…")).toBe(true);
    expect(written.at(-1)).toBe("\r\u001b[2K");
  });

  it("stays silent when fast, and always off a TTY", () => {
    const fast = stream(true);
    const p = progress(fast.stream, 60_000);
    p.step("reading manifests");
    p.done();
    expect(fast.written).toEqual([]);
    const piped = stream(false);
    const q = progress(piped.stream, 0);
    q.step("reading manifests");
    q.done();
    expect(piped.written).toEqual([]);
  });
});

describe("--capacity-reservations", () => {
  it("all, or a list of reservation ids; anything else names the flag", async () => {
    const { reservationIds } = await import("./controller-command.ts");
    expect(reservationIds("all")).toBe(true);
    expect(reservationIds("cr-0abc, cr-1def")).toEqual(["cr-0abc", "cr-1def"]);
    expect(() => reservationIds("m5.large")).toThrow(/--capacity-reservations: "m5.large"/);
    expect(() => reservationIds(" , ")).toThrow(/--capacity-reservations/);
  });
});
