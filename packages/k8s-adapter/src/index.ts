/**
 * @nodeplan/k8s-adapter: Kubernetes and Karpenter manifests in (YAML, JSON, kubectl `List` dumps),
 * karpenter.sh/v1 NodeClaim manifests out. Pure functions over strings and objects (browser-safe).
 */
export {
  type DocumentRecord,
  type InputNotice,
  type InputNoticeCode,
  type ManifestInput,
  type RawObject,
  type ReadDocumentsResult,
  readDocuments,
} from "./documents.ts";
export { type GraphObject, type IgnoredBecause, isCustomGroup, type ManifestGraph } from "./graph.ts";
export { isSupportedKind, objectRef, type SupportedKind, supportedKinds } from "./kinds.ts";
export {
  type LoadOptions,
  type LoadResult,
  loadManifests,
  MAX_REPLICAS_PER_WORKLOAD,
  type SkippedObject,
} from "./load-manifests.ts";
export { type NodeClaimManifestOptions, toNodeClaimManifests } from "./nodeclaim-manifests.ts";
export {
  closest,
  type KindLookup,
  type KindSchemas,
  loadSchemas,
  type ModelClass,
  type ModuleImporter,
  schemaPackages,
  schemasFromModules,
  unknownFieldsOf,
} from "./schemas.ts";
export { toJson, toYaml } from "./serialize.ts";
export { type LoadSummary, renderLoadSummary } from "./summary.ts";
export { deterministicUid } from "./uid.ts";
export { type LoadWarning, type LoadWarningCode, renderLoadWarning } from "./warnings.ts";
