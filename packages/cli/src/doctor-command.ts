import type { Solver } from "@nodeplan/core";
import {
  type DoctorReport,
  doctorMetrics,
  doctorStatusData,
  type ManifestObject,
  type Paint,
  renderDoctorText,
  runDoctor,
  type Severity,
  severities,
  toSarif,
} from "@nodeplan/doctor";
import type { ClusterCheckOptions } from "@nodeplan/k8s-adapter/controller";
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

/**
 * The controller's configuration checks: the doctor's rules over the objects the controller watches
 * (Pods, Nodes, NodePools, NodeClaims, EC2NodeClasses, DaemonSets, PDBs; rules over kinds it does not
 * watch, such as HPAs and Argo CD Applications, need `nodeplan doctor` on the manifests). Findings go
 * to the status ConfigMap's `doctor` and `doctor.json` keys and to the `nodeplan_doctor_*` gauges.
 */
export function doctorChecks(
  solver: Solver,
  // Savings off by default: a consolidation loop per rule would stall the event loop (and the Lease)
  // on a large cluster; the CLI's doctor gives them.
  options: { intervalMs?: number; savings?: boolean } = {},
): ClusterCheckOptions {
  return {
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    check: ({ objects, cluster, instanceTypes, now }) => {
      const manifests = objects.map(
        (o, i): ManifestObject => ({
          source: "cluster",
          path: [i],
          document: i,
          apiVersion: o.apiVersion,
          kind: o.kind,
          ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
          name: o.metadata.name,
          raw: o,
          outcome: "loaded",
        }),
      );
      const report = runDoctor(
        { graph: { objects: manifests }, cluster, instanceTypes, now },
        { solver, savings: options.savings ?? false },
      );
      return {
        statusData: doctorStatusData(report),
        gauges: doctorMetrics(report).map(({ name, help, samples }) => ({ name, help, samples })),
      };
    },
  };
}
