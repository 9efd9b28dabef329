import {
  type DoctorReport,
  type Paint,
  renderDoctorText,
  runDoctor,
  type Severity,
  severities,
  toSarif,
} from "@nodeplan/doctor";
import { type InputOptions, loadInputs } from "./inputs.ts";
import { type LoadedInputs, loadSolver } from "./prepare.ts";
import type { Progress } from "./terminal.ts";

/**
 * `nodeplan doctor`: the configuration findings of @nodeplan/doctor over manifests read exactly as
 * `nodeplan plan` reads them (the same loader, schemas, warnings, default NodePool and catalog); the
 * texts read give each finding the line of its field.
 */

/** Options of `nodeplan doctor`. */
export interface DoctorCommandOptions extends InputOptions {
  output?: "text" | "json" | "sarif";
  /** Exit 1 when a finding is at least this severe. */
  failOn?: Exclude<Severity, "info">;
}

/** Runs every rule over prepared inputs (plans and consolidation loops for the findings' costs). */
export async function doctorFor(inputs: LoadedInputs, progress?: Progress): Promise<DoctorReport> {
  progress?.step("checking the configuration");
  await progress?.yield();
  const solver = await loadSolver();
  return runDoctor(
    { graph: inputs.graph, cluster: inputs.cluster, instanceTypes: inputs.instanceTypes, now: inputs.now },
    { solver, texts: inputs.texts },
  );
}

/** The report in the chosen format: text by severity, `{ findings, summary }` JSON, or SARIF 2.1.0. */
export function renderDoctor(
  report: DoctorReport,
  output: DoctorCommandOptions["output"],
  options: { version: string; paint?: Paint },
): string {
  if (output === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (output === "sarif")
    return `${JSON.stringify(toSarif(report, { version: options.version, isFile: (s) => s !== "stdin" }), null, 2)}\n`;
  return renderDoctorText(report, options.paint);
}

/** Does some finding reach `level` (`warning` counts errors too)? */
export function failsOn(report: DoctorReport, level: DoctorCommandOptions["failOn"]): boolean {
  if (level === undefined) return false;
  const worst = severities.indexOf(level);
  return report.findings.some((f) => severities.indexOf(f.severity) <= worst);
}

/** Loads, checks and renders: what the `doctor` command prints, and whether `--fail-on` fails it. */
export async function doctorCommand(
  paths: readonly string[],
  options: DoctorCommandOptions,
  progress?: Progress,
): Promise<{ inputs: LoadedInputs; report: DoctorReport }> {
  const inputs = await loadInputs(paths, options, progress);
  return { inputs, report: await doctorFor(inputs, progress) };
}
