import type { NodeSelectorRequirement, NodeSelectorTerm } from "@nodeplan/core";

/** What volume topology needs from PVCs, PVs and StorageClasses, indexed by name. */
export interface VolumeIndex {
  /** `namespace/name` -> claim. */
  claims: ReadonlyMap<string, { storageClassName?: string | undefined; volumeName?: string | undefined }>;
  /** PV name -> first node affinity term, hostname dropped for local/hostPath volumes. */
  volumes: ReadonlyMap<string, NodeSelectorRequirement[]>;
  /** StorageClass name -> requirements from its first allowed topology term. */
  storageClasses: ReadonlyMap<string, NodeSelectorRequirement[]>;
  /** The StorageClass annotated as the cluster default, if any. */
  defaultStorageClass?: string | undefined;
}

/** A volume's zone requirements could not be resolved because an object is missing from the input. */
export interface MissingVolumeObject {
  kind: "PersistentVolumeClaim" | "StorageClass";
  name: string;
  volumeIndex: number;
}

/**
 * Karpenter's volume topology (pkg/controllers/provisioning/scheduling/volumetopology.go): a bound
 * claim contributes its PersistentVolume's first node affinity term; an unbound claim contributes its
 * StorageClass's first allowed topology term. Requirements from all volumes are ANDed.
 */
export function volumeRequirements(
  namespace: string,
  claimNames: readonly (string | undefined)[],
  index: VolumeIndex,
): { requirements: NodeSelectorRequirement[]; missing: MissingVolumeObject[] } {
  const requirements: NodeSelectorRequirement[] = [];
  const missing: MissingVolumeObject[] = [];
  claimNames.forEach((claimName, volumeIndex) => {
    if (claimName === undefined) return;
    const claim = index.claims.get(`${namespace}/${claimName}`);
    if (claim === undefined) {
      missing.push({ kind: "PersistentVolumeClaim", name: claimName, volumeIndex });
      return;
    }
    if (claim.volumeName !== undefined && claim.volumeName !== "") {
      requirements.push(...(index.volumes.get(claim.volumeName) ?? []));
      return;
    }
    const className = claim.storageClassName ?? index.defaultStorageClass;
    if (className === undefined || className === "") return;
    const fromClass = index.storageClasses.get(className);
    if (fromClass === undefined) missing.push({ kind: "StorageClass", name: className, volumeIndex });
    else requirements.push(...fromClass);
  });
  return { requirements, missing };
}

/** The first term of a PV's node affinity, without the hostname of a local or hostPath volume (it moves with a new node). */
export function persistentVolumeRequirements(
  terms: readonly NodeSelectorTerm[],
  nodeLocal: boolean,
): NodeSelectorRequirement[] {
  const first = terms[0]?.matchExpressions ?? [];
  return nodeLocal ? first.filter((r) => r.key !== "kubernetes.io/hostname") : [...first];
}
