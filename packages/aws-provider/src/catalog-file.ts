import type { InstanceType, Offering, Warning } from "@nodeplan/core";
import { toResourceList } from "./resource-names.ts";

/**
 * The catalog file of CONTRACTS.md ("nodeplan.dev/v1" InstanceCatalog) as this provider writes it,
 * read back by core's `parseCatalog` anywhere (CLI, browser). `warnings` rides along (core's
 * schema ignores it) so whoever plans from the file can copy them into the plan.
 */

/** One instance type in the file: Kubernetes resource lists, offerings as in the model. */
export interface CatalogFileInstanceType {
  name: string;
  labels: Record<string, string>;
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  offerings: Offering[];
  /** Launched only for pods nothing else serves (metal, GPUs, accelerators, special-quota families). */
  exotic?: boolean;
}

/** The catalog file, plus the warnings that apply to plans made from it. */
export interface InstanceCatalogFile {
  apiVersion: "nodeplan.dev/v1";
  kind: "InstanceCatalog";
  region: string;
  generatedAt: string;
  source: string;
  instanceTypes: CatalogFileInstanceType[];
  warnings?: Warning[];
}

/** Builds the file from model instance types (sorted by name for stable output). */
export function toCatalogFile(args: {
  region: string;
  generatedAt: string;
  source: string;
  instanceTypes: readonly InstanceType[];
  warnings?: readonly Warning[];
}): InstanceCatalogFile {
  const instanceTypes = [...args.instanceTypes]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((it) => ({
      name: it.name,
      labels: it.labels,
      capacity: toResourceList(it.capacity),
      allocatable: toResourceList(it.allocatable),
      offerings: it.offerings,
      ...(it.exotic === undefined ? {} : { exotic: it.exotic }),
    }));
  const file: InstanceCatalogFile = {
    apiVersion: "nodeplan.dev/v1",
    kind: "InstanceCatalog",
    region: args.region,
    generatedAt: args.generatedAt,
    source: args.source,
    instanceTypes,
  };
  if (args.warnings !== undefined && args.warnings.length > 0) file.warnings = [...args.warnings];
  return file;
}

/** The warning a plan carries when spot offerings were priced as on-demand. */
export function spotPriceUnknownWarning(instanceTypes: readonly string[]): Warning {
  const count = instanceTypes.length;
  return {
    code: "spot_price_unknown",
    message: `no spot price is known for ${count} instance type${count === 1 ? "" : "s"}; their spot offerings are priced at the on-demand price until a live spot price arrives`,
  };
}
