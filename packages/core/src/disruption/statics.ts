import { type DisruptionCatalog, disruptionCatalog } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { type PdbIndex, pdbMembership } from "./pdb.ts";

/**
 * What stays the same across plans over the same pods (labels, selectors), PDBs and catalog: the
 * consolidation loop computes it once for all its passes. A plan called alone computes its own.
 */
export interface DisruptionStatics {
  catalog: DisruptionCatalog;
  pdbs: PdbIndex;
}

export function disruptionStatics(input: DisruptionInput): DisruptionStatics {
  return { catalog: disruptionCatalog(input), pdbs: pdbMembership(input.pdbs ?? []) };
}
