import type { DoctorReport, Finding, ObjectRef, Severity } from "./finding.ts";
import { severities } from "./finding.ts";
import type { Rule } from "./rule.ts";
import { rules as allRules } from "./rules/index.ts";

/**
 * The doctor's outputs, rendered in one place: text grouped by severity, SARIF 2.1.0 for code-scanning
 * UIs, metric families and the status ConfigMap's data for the controller.
 */

/** Colours for a terminal (the CLI's Paint); every function returns its input when there is none. */
export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const plain: Paint = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s };

const money = (x: number) => `$${x.toFixed(4)}/h`;
const count = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** Where an object is, for people: `file:line` or `file, document 2, items[3]`, then its name and field. */
export function renderLocation(o: ObjectRef): string {
  const where =
    o.file === undefined
      ? ""
      : o.line !== undefined
        ? `${o.file}:${o.line}`
        : `${o.file}${o.document === undefined ? "" : `, document ${o.document + 1}`}${o.item === undefined ? "" : `, items[${o.item}]`}`;
  const what = `${o.kind} ${o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`}`;
  return [where, what, o.path ?? ""].filter((s) => s !== "").join(": ");
}

/** A finding's cost in words, or undefined. */
export function renderEffect(f: Finding): string | undefined {
  const parts: string[] = [];
  const e = f.effect;
  if (e?.savingsBlockedPerHour !== undefined)
    parts.push(
      e.savingsBlockedPerHour > 0
        ? `blocks ${money(e.savingsBlockedPerHour)} of consolidation savings`
        : "blocks no consolidation savings now",
    );
  if (e?.podsUnschedulable !== undefined)
    parts.push(`${count(e.podsUnschedulable, "pod")} can never be placed`);
  if (e?.replicasUnreachable !== undefined)
    parts.push(`${count(e.replicasUnreachable, "replica")} the HPA can never reach`);
  return parts.length === 0 ? undefined : parts.join("; ");
}

/** The summary as a line or two. */
export function renderSummary(report: DoctorReport): string {
  const s = report.summary;
  const head = `${count(s.findings, "finding")} (${severities.map((v) => `${s.bySeverity[v]} ${v === "info" ? "info" : `${v}${s.bySeverity[v] === 1 ? "" : "s"}`}`).join(", ")}) from ${count(s.rules, "rule")}${s.exempted > 0 ? `; ${s.exempted} exempted by annotation` : ""}`;
  const costs: string[] = [];
  if (s.savingsBlockedPerHour !== undefined)
    costs.push(`consolidation savings blocked: ${money(s.savingsBlockedPerHour)}`);
  if (s.podsUnschedulable !== undefined) costs.push(`pods that can never be placed: ${s.podsUnschedulable}`);
  if (s.replicasUnreachable !== undefined) costs.push(`HPA replicas out of reach: ${s.replicasUnreachable}`);
  return costs.length === 0 ? head : `${head}\n${costs.join("; ")}`;
}

const heading: Record<Severity, string> = { error: "errors", warning: "warnings", info: "info" };

/** The human report: findings grouped by severity, each with where, what it costs, the fix and the docs. */
export function renderDoctorText(report: DoctorReport, paint: Paint = plain): string {
  const colour: Record<Severity, (s: string) => string> = {
    error: paint.red,
    warning: paint.yellow,
    info: paint.cyan,
  };
  const lines = [paint.bold(`nodeplan doctor: ${renderSummary(report).split("\n").join("\n  ")}`)];
  for (const severity of severities) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    lines.push("", paint.bold(colour[severity](`${heading[severity]} (${group.length})`)));
    for (const f of group) {
      lines.push(`  ${colour[severity](f.rule)}  ${paint.bold(f.title)}`, `    ${f.message}`);
      const [first, ...rest] = f.objects;
      if (first !== undefined) lines.push(`    at ${renderLocation(first)}`);
      for (const o of rest) lines.push(paint.dim(`       ${renderLocation(o)}`));
      const effect = renderEffect(f);
      if (effect !== undefined) lines.push(`    cost: ${effect}`);
      if (f.fix !== undefined) {
        lines.push(`    fix:  ${f.fix.description}`);
        if (f.fix.patch.length > 0) lines.push(paint.dim(`          patch ${JSON.stringify(f.fix.patch)}`));
        for (const m of f.fix.add ?? []) {
          const meta = (m.metadata ?? {}) as { name?: string; namespace?: string };
          lines.push(
            paint.dim(
              `          add ${String(m.kind)} ${meta.namespace === undefined ? "" : `${meta.namespace}/`}${meta.name ?? ""}`,
            ),
          );
        }
      }
      lines.push(paint.dim(`    docs: ${f.docs}`));
    }
  }
  if (report.findings.length === 0) lines.push("", "no findings");
  return `${lines.join("\n")}\n`;
}

/** SARIF 2.1.0 levels for the doctor's severities. */
const sarifLevel: Record<Severity, "error" | "warning" | "note"> = {
  error: "error",
  warning: "warning",
  info: "note",
};

/** Options of `toSarif`. */
export interface SarifOptions {
  /** The tool's version (the CLI's). */
  version: string;
  /** The rules that ran (default every rule): SARIF lists them whether or not they found something. */
  rules?: readonly Rule[];
  /** Which sources are files a code-scanning UI can open (default: all; the CLI leaves out stdin). */
  isFile?: (source: string) => boolean;
}

/** A file name as a SARIF artifact URI: forward slashes, percent-encoded, relative as given. */
const artifactUri = (file: string) =>
  encodeURI(file.replaceAll("\\", "/")).replaceAll("#", "%23").replaceAll("?", "%3F");

function sarifLocation(
  o: ObjectRef,
  isFile: (source: string) => boolean,
  id?: number,
): Record<string, unknown> {
  const location: Record<string, unknown> = {};
  if (id !== undefined) location.id = id;
  if (o.file !== undefined && isFile(o.file)) {
    const physical: Record<string, unknown> = { artifactLocation: { uri: artifactUri(o.file) } };
    if (o.line !== undefined) physical.region = { startLine: o.line };
    location.physicalLocation = physical;
  }
  location.logicalLocations = [
    {
      fullyQualifiedName: `${o.kind}/${o.namespace === undefined ? "" : `${o.namespace}/`}${o.name}${o.path === undefined ? "" : `:${o.path}`}`,
      kind: "object",
    },
  ];
  location.message = {
    text: `${o.kind} ${o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`}${o.path === undefined ? "" : ` ${o.path}`}`,
  };
  return location;
}

/**
 * The report as a SARIF 2.1.0 log (OASIS): one run whose driver lists every rule that ran (id, title,
 * why, docs as helpUri, default level), one result per finding with its rule, level, message and
 * locations (file and line where known, and the object as a logical location); the fix's JSON Patch
 * and the effect ride in `properties`.
 */
export function toSarif(report: DoctorReport, options: SarifOptions): Record<string, unknown> {
  const ruleList = options.rules ?? allRules;
  const isFile = options.isFile ?? (() => true);
  const index = new Map(ruleList.map((r, i) => [r.id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "nodeplan doctor",
            version: options.version,
            rules: ruleList.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase()),
              shortDescription: { text: r.title },
              fullDescription: { text: r.why },
              help: { text: `${r.why} See ${r.docs}` },
              helpUri: r.docs,
              defaultConfiguration: { level: sarifLevel[r.severity] },
            })),
          },
        },
        results: report.findings.map((f) => {
          const [first, ...rest] = f.objects;
          const result: Record<string, unknown> = {
            ruleId: f.rule,
            level: sarifLevel[f.severity],
            message: { text: f.message },
            locations: first === undefined ? [] : [sarifLocation(first, isFile)],
          };
          const ruleIndex = index.get(f.rule);
          if (ruleIndex !== undefined) result.ruleIndex = ruleIndex;
          if (rest.length > 0) result.relatedLocations = rest.map((o, i) => sarifLocation(o, isFile, i + 1));
          if (first !== undefined)
            result.partialFingerprints = {
              "nodeplanObject/v1": `${f.rule}:${first.kind}/${first.namespace ?? ""}/${first.name}:${first.path ?? ""}`,
            };
          const properties: Record<string, unknown> = {};
          if (f.fix !== undefined) properties.fix = f.fix;
          if (f.effect !== undefined) properties.effect = f.effect;
          if (Object.keys(properties).length > 0) result.properties = properties;
          return result;
        }),
      },
    ],
  };
}

/** A Prometheus gauge family (the controller's Metric takes these values and labels). */
export interface MetricFamily {
  name: string;
  help: string;
  type: "gauge";
  samples: { labels: Record<string, string>; value: number }[];
}

/**
 * The report as gauges: findings per rule and severity (every rule, 0 included, so series do not
 * vanish), exemptions, and the effects' totals.
 */
export function doctorMetrics(report: DoctorReport, rules: readonly Rule[] = allRules): MetricFamily[] {
  const s = report.summary;
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: [{ labels: {}, value }],
  });
  return [
    {
      name: "nodeplan_doctor_findings",
      help: "Configuration findings of nodeplan doctor, by rule and severity",
      type: "gauge",
      samples: rules.map((r) => ({
        labels: { rule: r.id, severity: r.severity },
        value: s.byRule[r.id] ?? 0,
      })),
    },
    gauge(
      "nodeplan_doctor_findings_exempted",
      "Findings exempted by a nodeplan.io/ignore-<rule> annotation",
      s.exempted,
    ),
    gauge(
      "nodeplan_doctor_savings_blocked_dollars_per_hour",
      "Consolidation savings the findings' blockers hold back, all relaxed at once ($/h)",
      s.savingsBlockedPerHour ?? 0,
    ),
    gauge("nodeplan_doctor_pods_unschedulable", "Pods no NodePool can ever take", s.podsUnschedulable ?? 0),
    gauge(
      "nodeplan_doctor_replicas_unreachable",
      "HPA replicas the NodePool limits can never hold",
      s.replicasUnreachable ?? 0,
    ),
  ];
}

/**
 * The status ConfigMap's doctor keys: `doctor` (the summary and one line per finding, for kubectl)
 * and `doctor.json` (`{ findings, summary }` with the first `limit` findings), at most `maxBytes`
 * (UTF-8, keys and values): the apiserver refuses a ConfigMap over 1 MiB and the controller's own
 * keys share it, so the list is halved until it fits. The summary always counts every finding.
 */
export function doctorStatusData(
  report: DoctorReport,
  options: { limit?: number; maxBytes?: number } = {},
): Record<string, string> {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const encoder = new TextEncoder();
  for (let n = options.limit ?? 200; ; n = Math.floor(n / 2)) {
    const shown = report.findings.slice(0, n);
    const lines = [renderSummary(report), ...shown.map((f) => `${f.severity} ${f.rule}: ${f.message}`)];
    if (report.findings.length > n) lines.push(`... and ${report.findings.length - n} more`);
    const data = {
      doctor: `${lines.join("\n")}\n`,
      "doctor.json": JSON.stringify({ findings: shown, summary: report.summary }),
    };
    const bytes = Object.entries(data).reduce(
      (sum, [k, v]) => sum + encoder.encode(k).length + encoder.encode(v).length,
      0,
    );
    if (bytes <= maxBytes || n === 0) return data;
  }
}
