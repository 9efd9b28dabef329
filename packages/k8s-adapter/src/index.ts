/**
 * @nodeplan/k8s-adapter: Kubernetes and Karpenter manifests in (YAML, JSON, kubectl `List` dumps),
 * karpenter.sh/v1 NodeClaim manifests out. Pure functions over strings and objects (browser-safe).
 */
export { type ManifestInput, type RawObject, readDocuments } from "./documents.ts";
export { isSupportedKind, objectRef, type SupportedKind, supportedKinds } from "./kinds.ts";
export { type LoadOptions, type LoadResult, loadManifests, type SkippedObject } from "./load-manifests.ts";
export { type NodeClaimManifestOptions, toNodeClaimManifests } from "./nodeclaim-manifests.ts";
export { toJson, toYaml } from "./serialize.ts";
export { deterministicUid } from "./uid.ts";
export { type LoadWarning, type LoadWarningCode, renderLoadWarning } from "./warnings.ts";
