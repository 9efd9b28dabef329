// `nodeplan doctor` as users run it: a subprocess on examples/misconfigured-cluster and on bad input,
// asserting on its text, its JSON ({ findings, summary }), its SARIF and its exit codes with --fail-on.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { applyJsonPatch, type DoctorReport, type Fix, type ObjectRef, rules } from "@nodeplan/doctor";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";

const repo = resolve(import.meta.dirname, "../../..");
const bin = join(repo, "packages/cli/src/bin.ts");
const example = "examples/misconfigured-cluster";
const NOW = "2026-11-01T15:00:00Z";
const tmp = mkdtempSync(join(tmpdir(), "nodeplan-doctor-"));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cache = new Map<string, Promise<Run>>();
/** Runs `nodeplan <args>` from the repository root (cached: the command is deterministic given --now). */
function nodeplan(args: string[]): Promise<Run> {
  const key = JSON.stringify(args);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const run = new Promise<Run>((done, fail) => {
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
  cache.set(key, run);
  return run;
}

const json = async (args: string[]) => {
  const run = await nodeplan([...args, "-o", "json"]);
  expect(run.stderr).not.toMatch(/unexpected failure/);
  return { run, report: JSON.parse(run.stdout) as DoctorReport };
};

describe("nodeplan doctor on examples/misconfigured-cluster", { timeout: 180_000 }, () => {
  it("finds a dozen and more rules' mistakes, with costs, fixes and lines; exit 0 without --fail-on", async () => {
    const { run, report } = await json(["doctor", example, "--now", NOW]);
    expect(run.status).toBe(0);
    expect(Object.keys(report).sort()).toEqual(["findings", "summary"]);
    const fired = new Set(report.findings.map((f) => f.rule));
    expect(fired.size).toBeGreaterThanOrEqual(12);
    expect(report.summary.findings).toBe(report.findings.length);
    expect(report.summary.rules).toBe(rules.length);
    expect(report.summary.exempted).toBe(1);
    for (const f of report.findings) {
      expect(
        Object.keys(f).every((k) =>
          ["rule", "severity", "title", "message", "docs", "objects", "fix", "effect"].includes(k),
        ),
      ).toBe(true);
      expect(f.objects[0]?.file).toMatch(/^examples\/misconfigured-cluster\/[a-z-]+\.yaml$/);
      expect(f.objects[0]?.line).toBeGreaterThan(0);
    }
    // What the mistakes cost, from the solver.
    expect(report.summary.savingsBlockedPerHour).toBeGreaterThan(0);
    expect(
      report.findings.find((f) => f.rule === "pdb-allows-zero")?.effect?.savingsBlockedPerHour,
    ).toBeGreaterThan(0);
    expect(
      report.findings.find((f) => f.rule === "do-not-disrupt-long-lived")?.effect?.savingsBlockedPerHour,
    ).toBeGreaterThan(0);
    expect(
      report.findings.find((f) => f.rule === "zone-spread-unsatisfiable")?.effect?.podsUnschedulable,
    ).toBe(3);
    expect(
      report.findings.find((f) => f.rule === "hpa-max-unreachable")?.effect?.replicasUnreachable,
    ).toBeGreaterThan(0);
    // The same load as `plan`: its summary line, the same notes on stderr.
    const plan = await nodeplan(["plan", example, "--now", NOW]);
    const lastLine = (s: string) => s.trim().split("\n").at(-1);
    expect(lastLine(run.stderr)).toBe(lastLine(plan.stderr));
  });

  it("prints text grouped by severity, errors first", async () => {
    const run = await nodeplan(["doctor", example, "--now", NOW]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^nodeplan doctor: \d+ findings \(\d+ errors, \d+ warnings, 0 info\) from \d+ rules; 1 exempted/,
    );
    expect(run.stdout.indexOf("\nerrors (")).toBeLessThan(run.stdout.indexOf("\nwarnings ("));
    expect(run.stdout).toContain("at examples/misconfigured-cluster/apps.yaml:");
  });

  it("prints SARIF 2.1.0 with a result per finding", async () => {
    const [sarif, { report }] = await Promise.all([
      nodeplan(["doctor", example, "--now", NOW, "-o", "sarif"]),
      json(["doctor", example, "--now", NOW]),
    ]);
    const log = JSON.parse(sarif.stdout);
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0].tool.driver.name).toBe("nodeplan doctor");
    expect(log.runs[0].results).toHaveLength(report.findings.length);
    expect(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toMatch(
      /^examples\/misconfigured-cluster\//,
    );
  });

  it("--fail-on error and --fail-on warning exit 1 on findings that severe; a clean input exits 0", async () => {
    expect(
      (await nodeplan(["doctor", example, "--now", NOW, "--fail-on", "error", "-o", "json"])).status,
    ).toBe(1);
    expect(
      (await nodeplan(["doctor", example, "--now", NOW, "--fail-on", "warning", "-o", "json"])).status,
    ).toBe(1);
    const clean = join(repo, "packages/doctor/src/fixtures/base.yaml");
    const run = await nodeplan(["doctor", clean, "--now", NOW, "--fail-on", "warning"]);
    expect(run.stdout).toContain("no findings");
    expect(run.status).toBe(0);
    // Warnings only: --fail-on error passes, --fail-on warning fails.
    const warningsOnly = join(repo, "packages/doctor/src/fixtures/pdb-missing/fires-deployment.yaml");
    expect((await nodeplan(["doctor", clean, warningsOnly, "--now", NOW, "--fail-on", "error"])).status).toBe(
      0,
    );
    expect(
      (await nodeplan(["doctor", clean, warningsOnly, "--now", NOW, "--fail-on", "warning"])).status,
    ).toBe(1);
  });

  it("applying every fix to the example's files removes those findings", async () => {
    const { report } = await json(["doctor", example, "--now", NOW]);
    // The example's files, patched in a copy: one JSON Patch per finding, on the object it names.
    const files = new Map<string, unknown[]>();
    const docsOf = (file: string) => {
      let docs = files.get(file);
      if (docs === undefined) {
        docs = parseAllDocuments(readFileSync(join(repo, file), "utf8")).map((d) => d.toJS());
        files.set(file, docs);
      }
      return docs;
    };
    const added: unknown[] = [];
    const fixed = report.findings.filter((f) => f.fix !== undefined);
    expect(fixed.length).toBeGreaterThan(15);
    for (const f of fixed) {
      const o = f.objects[0] as ObjectRef;
      const docs = docsOf(o.file as string);
      docs[o.document as number] = applyJsonPatch(docs[o.document as number], (f.fix as Fix).patch);
      added.push(...((f.fix as Fix).add ?? []));
    }
    const dir = mkdtempSync(join(tmp, "fixed-"));
    for (const name of [
      "apps.yaml",
      "argocd.yaml",
      "cluster-snapshot.yaml",
      "karpenter-nodeclaims.yaml",
      "karpenter.yaml",
      "platform.yaml",
    ]) {
      const file = `${example}/${name}`;
      const docs = files.get(file) ?? docsOf(file);
      writeFileSync(join(dir, name), docs.map((d) => stringify(d)).join("---\n"));
    }
    writeFileSync(join(dir, "added.yaml"), added.map((d) => stringify(d)).join("---\n"));
    const after = JSON.parse(
      (await nodeplan(["doctor", dir, "--now", NOW, "-o", "json"])).stdout,
    ) as DoctorReport;
    const key = (f: DoctorReport["findings"][number]) =>
      `${f.rule} ${f.objects[0]?.kind}/${f.objects[0]?.namespace ?? ""}/${f.objects[0]?.name}`;
    const remaining = new Set(after.findings.map(key));
    for (const f of fixed) expect(remaining.has(key(f)), key(f)).toBe(false);
    expect(after.findings.length).toBeLessThan(report.findings.length);
  });
});

describe("nodeplan doctor on bad input", { timeout: 120_000 }, () => {
  it("an input error is exit 2 even with --fail-on, named on stderr; --strict makes an unknown field one", async () => {
    const typo = join(tmp, "typo.yaml");
    writeFileSync(
      typo,
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: web:1
          resources:
            reque}ts:
              cpu: 100m
`,
    );
    const loose = await nodeplan(["doctor", typo, "--now", NOW, "-o", "json"]);
    expect(loose.stderr).toMatch(
      /unknown field "spec\.template\.spec\.containers\[0\]\.resources\.reque}ts"/,
    );
    expect(JSON.parse(loose.stdout).findings.map((f: { rule: string }) => f.rule)).toContain(
      "pod-requests-missing",
    );
    const strict = await nodeplan(["doctor", typo, "--now", NOW, "--strict", "--fail-on", "warning"]);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toMatch(/typo\.yaml, document 1: Deployment shop\/web/);
    const missing = await nodeplan(["doctor", join(tmp, "nope.yaml")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe("the controller's configuration checks (doctorChecks)", { timeout: 180_000 }, () => {
  it("find over the objects the controller watches what nodeplan doctor finds in the same objects", async () => {
    const { loadInputs } = await import("./inputs.ts");
    const { doctorChecks, doctorFor } = await import("./doctor-command.ts");
    const { loadSolver } = await import("./prepare.ts");
    const inputs = await loadInputs([join(repo, example)], { now: NOW });
    // What the informers hold: the watched kinds of the example, as the API server serves them.
    const watched = new Set([
      "Pod",
      "Node",
      "NodePool",
      "NodeClaim",
      "EC2NodeClass",
      "DaemonSet",
      "PodDisruptionBudget",
    ]);
    const objects = inputs.graph.objects
      .filter((o) => o.outcome === "loaded" && watched.has(o.kind ?? ""))
      .map((o) => o.raw as import("@nodeplan/k8s-adapter/controller").KubeObject);
    const checks = doctorChecks(await loadSolver(), { savings: false });
    const result = checks.check({
      objects,
      cluster: inputs.cluster,
      instanceTypes: inputs.instanceTypes,
      now: inputs.now,
    });
    const published = JSON.parse(result.statusData["doctor.json"] as string) as DoctorReport;
    expect(published.findings.length).toBeGreaterThan(0);
    expect(result.statusData.doctor).toContain(published.findings[0]?.rule);
    // The same rules fire as when the doctor reads those objects from files.
    const fromFiles = await doctorFor({
      ...inputs,
      graph: { ...inputs.graph, objects: inputs.graph.objects.filter((o) => watched.has(o.kind ?? "")) },
    });
    const rulesOf = (r: DoctorReport) => [...new Set(r.findings.map((f) => f.rule))].sort();
    expect(rulesOf(published)).toEqual(rulesOf(fromFiles));
    const findings = result.gauges.find((g) => g.name === "nodeplan_doctor_findings");
    const fired = (findings?.samples ?? []).filter((s) => s.value > 0).map((s) => s.labels.rule);
    expect(fired.sort()).toEqual(rulesOf(published));
  });
});
