import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  applyFix,
  doctorOn,
  editObject,
  fixtureFiles,
  readFixture,
  subjectOf,
} from "./doctor.test-helper.ts";
import type { Effect, Finding } from "./finding.ts";
import { EXEMPTION_PREFIX } from "./rules/exemptions.ts";
import { rules } from "./rules/index.ts";

/**
 * Every rule, table-driven over its fixtures (src/fixtures/<rule>/fires-*.yaml and passes-*.yaml, each
 * read with fixtures/base.yaml unless it says `# base: none`): a rule without both kinds of fixture
 * fails. A firing fixture must produce the rule's finding, and for each finding: an exemption
 * annotation with a reason removes it (and counts it as exempted), an empty reason does not (and is
 * itself a finding), and applying its fix to the manifest it came from removes it.
 */

const ofRule = (findings: readonly Finding[], rule: string) => findings.filter((f) => f.rule === rule);

/** Texts with an annotation set on a finding's first object. */
function annotate(texts: Parameters<typeof editObject>[0], finding: Finding, key: string, value: string) {
  const subject = finding.objects[0];
  if (subject === undefined) throw new Error("finding without objects");
  return editObject(texts, subject, (o) => {
    const object = o as { metadata: { annotations?: Record<string, string> } };
    object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [key]: value };
    return object;
  });
}

test("at least 25 rules, with unique ids", () => {
  expect(rules.length).toBeGreaterThanOrEqual(25);
  expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  for (const r of rules) {
    expect(r.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(r.docs).toMatch(
      /^https:\/\/(karpenter\.sh|kubernetes\.io|aws\.github\.io|argo-cd\.readthedocs\.io)\//,
    );
    expect(r.title.length).toBeGreaterThan(10);
    expect(r.why.length).toBeGreaterThan(60);
  }
});

for (const rule of rules) {
  describe(rule.id, { timeout: 120_000 }, () => {
    const fires = fixtureFiles(rule.id, "fires-");
    const passes = fixtureFiles(rule.id, "passes-");

    test("has fixtures that make it fire and fixtures that do not", () => {
      expect(fires.length, `src/fixtures/${rule.id}/fires-*.yaml`).toBeGreaterThan(0);
      expect(passes.length, `src/fixtures/${rule.id}/passes-*.yaml`).toBeGreaterThan(0);
    });

    for (const file of fires) {
      test(`fires: ${file}; exempted by a reason, not by an empty one; its fix removes it`, async () => {
        const fixture = readFixture(rule.id, file);
        const report = await doctorOn(fixture.texts, fixture.now);
        const found = ofRule(report.findings, rule.id);
        expect(found.length, `findings:\n${report.findings.map(subjectOf).join("\n")}`).toBeGreaterThan(0);
        for (const f of found) {
          expect(f.severity).toBe(rule.severity);
          expect(f.docs).toBe(rule.docs);
          expect(f.objects[0]?.file).toBeDefined();
          expect(f.objects[0]?.document).toBeDefined();
          expect(f.objects[0]?.line).toBeGreaterThan(0);
          if (fixture.expectEffect !== undefined)
            expect(
              f.effect?.[fixture.expectEffect as keyof Effect],
              JSON.stringify(f.effect),
            ).toBeGreaterThan(0);
        }
        const first = found[0] as Finding;

        // An exemption with a reason removes the finding and is counted.
        const key = `${EXEMPTION_PREFIX}${rule.id}`;
        const exempt = await doctorOn(
          annotate(fixture.texts, first, key, "reviewed: see the runbook"),
          fixture.now,
        );
        expect(ofRule(exempt.findings, rule.id).map(subjectOf)).not.toContain(subjectOf(first));
        expect(exempt.summary.exempted).toBeGreaterThan(0);

        // An empty reason exempts nothing, and says so.
        if (rule.id !== "exemption-without-reason") {
          const empty = await doctorOn(annotate(fixture.texts, first, key, ""), fixture.now);
          expect(ofRule(empty.findings, rule.id).map(subjectOf)).toContain(subjectOf(first));
          expect(ofRule(empty.findings, "exemption-without-reason")).toHaveLength(1);
        }

        // Each fix, applied to the manifest the finding came from, removes that finding.
        for (const f of found) {
          if (f.fix === undefined) continue;
          const fixed = await doctorOn(applyFix(fixture.texts, f), fixture.now);
          expect(ofRule(fixed.findings, rule.id).map(subjectOf), f.fix.description).not.toContain(
            subjectOf(f),
          );
        }
      });
    }

    for (const file of passes) {
      test(`does not fire: ${file}`, async () => {
        const fixture = readFixture(rule.id, file);
        const report = await doctorOn(fixture.texts, fixture.now);
        expect(ofRule(report.findings, rule.id).map((f) => f.message)).toEqual([]);
      });
    }
  });
}

test("the README's rule table lists every rule with its severity", () => {
  const readme = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8");
  for (const r of rules) expect(readme).toMatch(new RegExp(`\\| \`${r.id}\`\\s+\\| ${r.severity}\\s+\\|`));
});
