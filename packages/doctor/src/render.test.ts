import type { ManifestInput } from "@nodeplan/k8s-adapter";
import { beforeAll, describe, expect, test } from "vitest";
import { doctorOn, type Fixture, readFixture } from "./doctor.test-helper.ts";
import type { DoctorReport, Finding, ObjectRef } from "./finding.ts";
import { doctorMetrics, doctorStatusData, type MetricFamily, renderDoctorText, toSarif } from "./render.ts";
import { rules } from "./rules/index.ts";

/** A report with errors, warnings, fixes, added manifests and effects: several fixtures read together. */
let report: DoctorReport;
beforeAll(async () => {
  const fixtures = [
    readFixture("pdb-allows-zero", "fires-with-nodes.yaml"),
    readFixture("pdb-missing", "fires-deployment.yaml"),
    readFixture("imdsv1-enabled", "fires-optional.yaml"),
    readFixture("zone-spread-unsatisfiable", "fires-min-domains.yaml"),
  ];
  const texts = [
    (fixtures[0] as Fixture).texts[0] as ManifestInput,
    ...fixtures.map((f) => f.texts[1] as ManifestInput),
  ];
  report = await doctorOn(texts);
});

describe("text", () => {
  test("grouped by severity, errors first; each finding with where, cost, fix and docs", () => {
    const text = renderDoctorText(report);
    expect(report.summary.bySeverity.error).toBeGreaterThan(0);
    expect(report.summary.bySeverity.warning).toBeGreaterThan(0);
    expect(text.indexOf("\nerrors (")).toBeLessThan(text.indexOf("\nwarnings ("));
    expect(text).toMatch(/^nodeplan doctor: \d+ findings \(\d+ errors, \d+ warnings, 0 info\) from 33 rules/);
    expect(text).toMatch(
      /at pdb-allows-zero\/fires-with-nodes\.yaml:\d+: PodDisruptionBudget payments\/ledger: spec\.minAvailable/,
    );
    expect(text).toMatch(/cost: blocks \$\d+\.\d{4}\/h of consolidation savings/);
    expect(text).toMatch(/cost: 3 pods can never be placed/);
    expect(text).toMatch(/add PodDisruptionBudget shop\/checkout/);
    for (const f of report.findings) expect(text).toContain(`docs: ${f.docs}`);
  });

  test("a clean input says so", async () => {
    const clean = await doctorOn(readFixture("pdb-missing", "passes-with-pdb.yaml").texts.slice(0, 1));
    expect(renderDoctorText(clean)).toMatch(/0 findings[\s\S]*\nno findings\n$/);
  });
});

describe("SARIF 2.1.0", () => {
  test("has the spec's required fields: $schema, version, runs[].tool.driver.{name,rules}, results[].{ruleId,level,message,locations}", () => {
    const log = JSON.parse(
      JSON.stringify(toSarif(report, { version: "0.1.0", isFile: (s) => s !== "stdin" })),
    );
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.version).toBe("2.1.0");
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe("nodeplan doctor");
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(rules.map((r) => r.id));
    for (const r of run.tool.driver.rules) {
      expect(r.shortDescription.text.length).toBeGreaterThan(0);
      expect(r.helpUri).toMatch(/^https:\/\//);
      expect(["error", "warning", "note"]).toContain(r.defaultConfiguration.level);
    }
    expect(run.results).toHaveLength(report.findings.length);
    for (const [i, result] of run.results.entries()) {
      const finding = report.findings[i] as Finding;
      expect(result.ruleId).toBe(finding.rule);
      expect(run.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
      expect(result.level).toBe({ error: "error", warning: "warning", info: "note" }[finding.severity]);
      expect(result.message.text).toBe(finding.message);
      expect(result.locations).toHaveLength(1);
      const physical = result.locations[0].physicalLocation;
      expect(physical.artifactLocation.uri).toBe(encodeURI((finding.objects[0] as ObjectRef).file as string));
      expect(Number.isInteger(physical.region.startLine) && physical.region.startLine >= 1).toBe(true);
      expect(result.locations[0].logicalLocations[0].fullyQualifiedName).toContain(
        (finding.objects[0] as ObjectRef).name,
      );
    }
  });

  test("sources that are not files (stdin) get only a logical location", () => {
    const log = toSarif(
      {
        ...report,
        findings: report.findings.map((f) => ({
          ...f,
          objects: f.objects.map((o) => ({ ...o, file: "stdin" })),
        })),
      },
      { version: "0.1.0", isFile: (s) => s !== "stdin" },
    ) as { runs: { results: { locations: Record<string, unknown>[] }[] }[] };
    for (const r of (log.runs[0] as { results: { locations: Record<string, unknown>[] }[] }).results) {
      expect((r.locations[0] as Record<string, unknown>).physicalLocation).toBeUndefined();
      expect((r.locations[0] as Record<string, unknown>).logicalLocations).toBeDefined();
    }
  });
});

describe("for the controller", () => {
  test("a gauge per rule (zeros included) and the totals; the status ConfigMap's keys", () => {
    const families = doctorMetrics(report);
    const findings = families.find((f) => f.name === "nodeplan_doctor_findings") as MetricFamily;
    expect(findings.samples).toHaveLength(rules.length);
    expect(findings.samples.reduce((s, x) => s + x.value, 0)).toBe(report.findings.length);
    const savings = families.find(
      (f) => f.name === "nodeplan_doctor_savings_blocked_dollars_per_hour",
    ) as MetricFamily;
    expect((savings.samples[0] as MetricFamily["samples"][number]).value).toBe(
      report.summary.savingsBlockedPerHour,
    );
    expect((savings.samples[0] as MetricFamily["samples"][number]).value).toBeGreaterThan(0);
    const data = doctorStatusData(report, { limit: 2 });
    expect(JSON.parse(data["doctor.json"] as string).findings).toHaveLength(2);
    expect(data.doctor).toMatch(/and \d+ more\n$/);
    // Bounded in bytes: fewer findings listed, the summary still counts them all.
    const all = doctorStatusData(report);
    const small = doctorStatusData(report, { maxBytes: 3000 });
    const size = (d: Record<string, string>) =>
      Object.entries(d).reduce((s, [k, v]) => s + k.length + v.length, 0);
    expect(size(small)).toBeLessThanOrEqual(3000);
    expect(JSON.parse(small["doctor.json"] as string).findings.length).toBeLessThan(
      JSON.parse(all["doctor.json"] as string).findings.length,
    );
    expect(JSON.parse(small["doctor.json"] as string).summary.findings).toBe(report.findings.length);
  });
});
