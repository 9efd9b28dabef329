// `nodeplan simulate`: every example scenario runs (shortened), the JSON is the contract's and the same
// bytes for the same seed, bad input is a clear error, and the JSON Schema file is the generated one.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type SimulationResult, SimulationResultSchema } from "@nodeplan/simulator";
import { describe, expect, test } from "vitest";
import { scenarioSchemaText, simulateScenario } from "./simulate-command.ts";

const repo = resolve(import.meta.dirname, "../../..");
const bin = join(repo, "packages/cli/src/bin.ts");
const examples = join(repo, "examples/simulations");
const tmp = mkdtempSync(join(tmpdir(), "nodeplan-simulate-"));

function nodeplan(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--conditions=@nodeplan/source", bin, ...args], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
    child.stdin.end("");
  });
}

/** Each example, shortened to the part of its day that shows what it is about. */
const shortened: Record<string, string> = {
  "production-api-pools.yaml": "45m",
  "production-api-surge25.yaml": "45m",
  "production-api-fixed-node-group.yaml": "30m",
  "gitops-hpa-fight.yaml": "40m",
  "consolidation-with-pdb.yaml": "2h",
  "consolidation-without-pdb.yaml": "2h",
  "spot-interruption-storm.yaml": "2h",
};

describe("the example scenarios", () => {
  test("every scenario file in examples/simulations is covered here", () => {
    const files = readdirSync(examples).filter((f) => f.endsWith(".yaml"));
    expect(files.sort()).toEqual(Object.keys(shortened).sort());
  });

  const runs = new Map<string, Promise<SimulationResult>>();
  const run = (file: string) => {
    let r = runs.get(file);
    if (r === undefined) {
      r = simulateScenario(join(examples, file), {
        output: "json",
        duration: shortened[file] as string,
      }).then((x) => x.result);
      runs.set(file, r);
    }
    return r;
  };

  for (const file of Object.keys(shortened))
    test(`${file} runs both strategies and gives the contract's JSON`, async () => {
      const r = await run(file);
      expect(SimulationResultSchema.safeParse(JSON.parse(JSON.stringify(r))).success).toBe(true);
      expect(Object.keys(r.strategies)).toEqual(["nodeplan", "karpenter"]);
      for (const s of Object.values(r.strategies)) expect(s.series.length).toBeGreaterThan(2);
    });

  test("a fixed node group leaves the API's new replicas pending; Karpenter-style pools launch for them", async () => {
    const fixed = (await run("production-api-fixed-node-group.yaml")).strategies.nodeplan?.summary;
    const pools = (await run("production-api-pools.yaml")).strategies.nodeplan?.summary;
    expect(fixed?.launches).toBe(0);
    expect(fixed?.pendingSecondsMax).toBe(1800);
    expect(pools?.launches).toBeGreaterThan(0);
    expect(pools?.pendingSecondsMax).toBeLessThan(300);
  });

  test("Git and the HPA both write the API's replicas: they undo each other", async () => {
    const r = (await run("gitops-hpa-fight.yaml")).strategies.nodeplan;
    const writers = new Set(r?.events.filter((e) => e.kind === "replicas").map((e) => e.by));
    expect(writers).toEqual(new Set(["hpa", "argocd"]));
    const argocd = r?.events.filter((e) => e.kind === "replicas" && e.by === "argocd") ?? [];
    expect(argocd.length).toBeGreaterThanOrEqual(3);
  });

  test("the bill as it will be: volumes priced per node, every node's breakdown summing to its cost", async () => {
    const s = (await run("production-api-pools.yaml")).strategies.nodeplan?.summary;
    if (s === undefined) throw new Error("no nodeplan run");
    const parts = (b: typeof s.costBreakdown) =>
      b.instance + b.storage + b.network + b.burstableCredits + b.fees;
    expect(s.costBreakdownComplete).toBe(true);
    // The example's EC2NodeClass gives every node an EBS root volume: storage is part of the bill.
    expect(s.costBreakdown.storage).toBeGreaterThan(0);
    expect(s.costBreakdown.instance).toBeGreaterThan(s.costBreakdown.storage);
    expect(parts(s.costBreakdown)).toBeCloseTo(s.costTotal, 2);
    expect(s.nodes?.length).toBeGreaterThan(20);
    for (const n of s.nodes ?? []) {
      if (n.costBreakdown === undefined) throw new Error(`${n.name}: no breakdown`);
      expect(parts(n.costBreakdown)).toBeCloseTo(n.cost, 3);
      expect(n.costBreakdown.storage).toBeGreaterThan(0);
    }
    expect((await run("production-api-pools.yaml")).notes?.join(" ")).not.toMatch(/instance prices only/);
  });

  test("the interruption storm reclaims nodes and launches fail where spot capacity ran out", async () => {
    const s = (await run("spot-interruption-storm.yaml")).strategies.nodeplan?.summary;
    expect(s?.disruptions.interruption).toBeGreaterThan(0);
    expect(s?.podsKilled).toBeGreaterThan(0);
    expect(s?.failedLaunches).toBeGreaterThan(0);
  });
});

describe("nodeplan simulate", () => {
  test("-o json: the same seed gives the same bytes", async () => {
    const args = [
      "simulate",
      join(examples, "consolidation-with-pdb.yaml"),
      "--duration",
      "20m",
      "-o",
      "json",
    ];
    const [a, b] = await Promise.all([nodeplan(args), nodeplan(args)]);
    expect(a.status).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(1000);
    expect(a.stdout).toBe(b.stdout);
    const r = SimulationResultSchema.parse(JSON.parse(a.stdout));
    expect(r).toMatchObject({ scenario: "consolidation-with-pdb", durationSeconds: 1200, seed: 3 });
  });

  test("-o svg and text", async () => {
    const args = [
      "simulate",
      join(examples, "production-api-pools.yaml"),
      "--duration",
      "10m",
      "--strategy",
      "nodeplan",
    ];
    const svg = await nodeplan([...args, "-o", "svg"]);
    expect(svg.status).toBe(0);
    expect(svg.stdout).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.stdout).toContain("<polyline");
    const text = await nodeplan(args);
    expect(text.stdout).toMatch(/cost for the period +\$\d+\.\d\d/);
    expect(text.stdout).toMatch(/pending per pod p50 \/ p95 \/ max/);
  });

  test("bad input is an error naming the field, exit 2", async () => {
    const bad = join(tmp, "bad.yaml");
    writeFileSync(
      bad,
      "apiVersion: nodeplan.dev/v1alpha1\nkind: Simulation\nmetadata: { name: x }\nspec:\n  manifests: [../nowhere]\n  start: yesterday\n  duration: 2 hours\n",
    );
    const r = await nodeplan(["simulate", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/spec\.start/);
    expect(r.stderr).toMatch(/spec\.duration/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    const flags = await nodeplan([
      "simulate",
      join(examples, "production-api-pools.yaml"),
      "--strategy",
      "cas",
    ]);
    expect(flags.status).toBe(2);
    expect(flags.stderr).toMatch(/--strategy cas: not a strategy/);
  });

  test("the committed JSON Schema is the one generated from the scenario schema", () => {
    expect(readFileSync(join(examples, "simulation.schema.json"), "utf8")).toBe(scenarioSchemaText());
  });
});
