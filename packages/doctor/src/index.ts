/**
 * @nodeplan/doctor: the autoscaling mistakes in Kubernetes and Karpenter manifests, found over the
 * loader's object graph, each with what it costs (from the solver) and a fix as a JSON Patch against
 * the manifest it came from. Browser-safe: the CLI, the playground and the controller run it alike.
 */
export {
  type DoctorReport,
  type DoctorSummary,
  type Effect,
  type Finding,
  type Fix,
  type JsonPatchOperation,
  type ObjectRef,
  type Severity,
  severities,
} from "./finding.ts";
export { type DoctorInput, globMatches, type ManifestObject } from "./graph.ts";
export { applyJsonPatch, JsonPatchError, parsePointer, pointer } from "./json-patch.ts";
export type { SourceText } from "./locate.ts";
export {
  doctorMetrics,
  doctorStatusData,
  type MetricFamily,
  type Paint,
  renderDoctorText,
  renderEffect,
  renderLocation,
  renderSummary,
  type SarifOptions,
  toSarif,
} from "./render.ts";
export type { Rule } from "./rule.ts";
export { EXEMPTION_PREFIX } from "./rules/exemptions.ts";
export { rules } from "./rules/index.ts";
export { type DoctorOptions, runDoctor } from "./run.ts";
