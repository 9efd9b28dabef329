import { type InstanceCatalogFile, toCatalogFile } from "../catalog-file.ts";
import type { EC2NodeClass } from "../ec2nodeclass.ts";
import { AwsCatalog, type AwsCatalogOptions, type CatalogIssue } from "./aws-catalog.ts";

/** Options of `refreshCatalogFile`: the live catalog's, plus the node class allocatable follows. */
export interface RefreshCatalogOptions extends AwsCatalogOptions {
  nodeClass?: EC2NodeClass;
}

/**
 * Reads the region's catalog from AWS once and returns it in the catalog file format (what
 * `nodeplan catalog refresh` writes and core's parseCatalog reads offline, browser included),
 * with the issues met on the way. Throws only when no instance types could be read.
 */
export async function refreshCatalogFile(
  options: RefreshCatalogOptions,
): Promise<{ file: InstanceCatalogFile; issues: CatalogIssue[] }> {
  const catalog = new AwsCatalog(options);
  const issues = await catalog.refresh(true);
  const instanceTypes = await catalog.allInstanceTypes(options.nodeClass);
  const now = options.now ?? Date.now;
  const file = toCatalogFile({
    region: options.region,
    generatedAt: new Date(now()).toISOString(),
    source: `aws ec2 + pricing (${options.region})`,
    instanceTypes,
    warnings: catalog.warnings(),
  });
  return { file, issues };
}
