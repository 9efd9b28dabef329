import type { Solver } from "@nodeplan/core";
import { makePlans, roundDollars, savingsBlocked } from "./effects.ts";
import type { DoctorReport, DoctorSummary, Effect, Finding, ObjectRef, Severity } from "./finding.ts";
import { severities } from "./finding.ts";
import { buildGraph, type DoctorInput, ref } from "./graph.ts";
import { LineFinder, type SourceText } from "./locate.ts";
import type { Blocker, CheckContext, Draft, Rule } from "./rule.ts";
import { EXEMPTION_PREFIX } from "./rules/exemptions.ts";
import { rules as allRules } from "./rules/index.ts";

/** Options of `runDoctor`. */
export interface DoctorOptions {
  /** The loaded solver (`createSolver()`): plans and the consolidation loop give findings their cost. */
  solver: Solver;
  /** Rule ids to run (default every rule). */
  rules?: readonly string[];
  /** Run the consolidation loops that give savings blocked (default true; the slowest part). */
  savings?: boolean;
  /** The texts the manifests were read from: findings then carry the line of each field. */
  texts?: readonly SourceText[];
}

/** A finding's place in the output: severity, rule, then where its first object is. */
function compareFindings(a: Finding, b: Finding): number {
  const s = severities.indexOf(a.severity) - severities.indexOf(b.severity);
  if (s !== 0) return s;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  const x = a.objects[0];
  const y = b.objects[0];
  const keys = (o: ObjectRef | undefined) => [
    o?.file ?? "",
    String(o?.document ?? 0).padStart(9, "0"),
    String(o?.item ?? 0).padStart(9, "0"),
    o?.kind ?? "",
    o?.namespace ?? "",
    o?.name ?? "",
  ];
  const kx = keys(x).join("\u0000");
  const ky = keys(y).join("\u0000");
  if (kx !== ky) return kx < ky ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** Is a draft exempted by `nodeplan.io/ignore-<rule>: "<why>"` on one of its objects (a reason given)? */
function exempted(rule: Rule, draft: Draft): boolean {
  const key = `${EXEMPTION_PREFIX}${rule.id}`;
  return draft.objects.some(({ obj }) => (obj.annotations[key] ?? "").trim() !== "");
}

/**
 * Runs the rules over a load (its object graph, cluster, catalog per NodePool and time) and returns
 * the findings, sorted (errors first, then by rule and file) with their effects, and the summary.
 * Pure and synchronous once the solver is loaded: same input, same report.
 */
export function runDoctor(input: DoctorInput, options: DoctorOptions): DoctorReport {
  const graph = buildGraph(input);
  const chosen =
    options.rules === undefined ? allRules : allRules.filter((r) => options.rules?.includes(r.id));
  const ctx: CheckContext = {
    graph,
    plans: makePlans(input, graph, options.solver),
    solver: options.solver,
    now: input.now,
    ruleIds: new Set(allRules.map((r) => r.id)),
  };
  const kept: { rule: Rule; draft: Draft }[] = [];
  let exemptedCount = 0;
  for (const rule of chosen)
    for (const draft of rule.check(ctx)) {
      if (exempted(rule, draft)) exemptedCount++;
      else kept.push({ rule, draft });
    }

  const blocked = kept.filter(
    (k): k is { rule: Rule; draft: Draft & { blocker: Blocker } } => k.draft.blocker !== undefined,
  );
  const savings =
    options.savings === false
      ? { perDraft: new Map<Draft, number>() }
      : savingsBlocked(
          input,
          options.solver,
          blocked.map((b) => ({ rule: b.rule.id, draft: b.draft })),
        );

  const lines = options.texts === undefined ? undefined : new LineFinder(options.texts);
  const findings = kept.map(({ rule, draft }): Finding => {
    const seen = new Set<unknown>();
    const objects: ObjectRef[] = [];
    for (const { obj, path } of draft.objects) {
      if (seen.has(obj.manifest)) continue;
      seen.add(obj.manifest);
      const r = ref(obj, path);
      const line = lines?.line(obj.manifest.source, obj.manifest.document, [
        ...obj.manifest.path.slice(1),
        ...(path ?? []),
      ]);
      if (line !== undefined) r.line = line;
      objects.push(r);
    }
    const effect: Effect = { ...draft.effect };
    const saved = savings.perDraft.get(draft);
    if (saved !== undefined) effect.savingsBlockedPerHour = saved;
    const finding: Finding = {
      rule: rule.id,
      severity: rule.severity,
      title: rule.title,
      message: draft.message,
      docs: rule.docs,
      objects,
    };
    // A fix patches one manifest: pods made alike are fixed in whatever makes them, not one by one.
    const subject = draft.objects[0]?.obj as { alike?: unknown[] } | undefined;
    if (draft.fix !== undefined && subject?.alike === undefined) finding.fix = draft.fix;
    if (Object.keys(effect).length > 0) finding.effect = effect;
    return finding;
  });
  findings.sort(compareFindings);
  return { findings, summary: summarize(findings, chosen.length, exemptedCount, savings.total) };
}

/** Counts findings by severity and rule, and adds up their effects. */
export function summarize(
  findings: readonly Finding[],
  rules: number,
  exempted: number,
  savingsBlockedPerHour?: number,
): DoctorSummary {
  const bySeverity: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  const byRule: Record<string, number> = {};
  let pods: number | undefined;
  let replicas: number | undefined;
  for (const f of findings) {
    bySeverity[f.severity]++;
    byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
    if (f.effect?.podsUnschedulable !== undefined) pods = (pods ?? 0) + f.effect.podsUnschedulable;
    if (f.effect?.replicasUnreachable !== undefined)
      replicas = (replicas ?? 0) + f.effect.replicasUnreachable;
  }
  const sortedByRule: Record<string, number> = {};
  for (const k of Object.keys(byRule).sort()) sortedByRule[k] = byRule[k] as number;
  const summary: DoctorSummary = {
    findings: findings.length,
    bySeverity,
    byRule: sortedByRule,
    exempted,
    rules,
  };
  if (savingsBlockedPerHour !== undefined)
    summary.savingsBlockedPerHour = roundDollars(savingsBlockedPerHour);
  if (pods !== undefined) summary.podsUnschedulable = pods;
  if (replicas !== undefined) summary.replicasUnreachable = replicas;
  return summary;
}
