import { writeFileSync } from "node:fs";
import { toCatalogFile } from "@nodeplan/aws-provider";
import { refreshCatalogFile } from "@nodeplan/aws-provider/live";
import { formatQuantity, type InstanceType, type PlanError, type Warning } from "@nodeplan/core";
import { openCatalog, parseCapacityTypes, parseList, UsageError, unrestrictedNodePool } from "./inputs.ts";
import { liveClients } from "./live.ts";
import { table } from "./plan-command.ts";
import type { Paint } from "./terminal.ts";

/** Options of `nodeplan catalog show`. */
export interface CatalogShowOptions {
  catalog?: string;
  /** AWS region of --catalog aws. */
  region?: string;
  filter?: string;
  zones?: string;
  capacityTypes?: string;
  output?: "text" | "json";
}

/** The instance types of a catalog, filtered by a substring of their name, with what was wrong. */
export async function loadCatalog(options: CatalogShowOptions): Promise<{
  region: string;
  instanceTypes: InstanceType[];
  warnings: Warning[];
  errors: PlanError[];
}> {
  const errors: PlanError[] = [];
  const zones = parseList(options.zones);
  const capacityTypes = parseCapacityTypes(options.capacityTypes);
  const catalog = await openCatalog(
    options.catalog ?? "embedded",
    { zones, capacityTypes },
    errors,
    options.region,
  );
  // A NodePool with no requirements: every type of the catalog.
  const all = await catalog.source.instanceTypes(unrestrictedNodePool(), undefined);
  const filter = options.filter?.toLowerCase();
  const instanceTypes = all
    .filter((t) => filter === undefined || t.name.toLowerCase().includes(filter))
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  return { region: catalog.region, instanceTypes, warnings: catalog.warnings(), errors };
}

/** Extended resources worth a column: accelerators, not the ENI trunking bookkeeping of vpc.amazonaws.com. */
const EXTENDED = /^(?!vpc\.amazonaws\.com\/).+\/.+/;

/** The catalog as a table: resources, then the price of each zone and capacity type (`-` = unavailable). */
export function renderCatalogTable(types: readonly InstanceType[], paint: Paint): string {
  const columns = [
    ...new Set(types.flatMap((t) => t.offerings.map((o) => `${o.zone} ${o.capacityType}`))),
  ].sort();
  const price = (t: InstanceType, column: string) => {
    const o = t.offerings.find((x) => `${x.zone} ${x.capacityType}` === column);
    return o === undefined ? "" : o.available ? o.pricePerHour.toFixed(4) : "-";
  };
  const extended = (t: InstanceType) =>
    Object.entries(t.allocatable)
      .filter(([k, v]) => EXTENDED.test(k) && v > 0)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
  const rows = [
    ["instance type", "arch", "cpu", "memory", "pods", "extended", ...columns],
    ...types.map((t) => [
      t.name,
      t.labels["kubernetes.io/arch"] ?? "",
      formatQuantity(t.allocatable.cpuMillis ?? 0, "cpu"),
      formatQuantity(t.allocatable.memoryBytes ?? 0, "bytes"),
      String(t.allocatable.pods ?? 0),
      extended(t),
      ...columns.map((c) => price(t, c)),
    ]),
  ];
  const [head, ...body] = table(rows);
  return `${[
    paint.bold(head ?? ""),
    ...body,
    paint.dim(
      `${types.length} instance types; allocatable resources; prices in $/h per zone and capacity type`,
    ),
  ].join("\n")}\n`;
}

/** `nodeplan catalog show`: the output text and the errors met. */
export async function catalogShow(
  options: CatalogShowOptions,
  paint: Paint,
): Promise<{ text: string; warnings: Warning[]; errors: PlanError[] }> {
  const { region, instanceTypes, warnings, errors } = await loadCatalog(options);
  if (instanceTypes.length === 0 && options.filter !== undefined)
    throw new UsageError(
      `no instance type of the catalog matches --filter ${JSON.stringify(options.filter)}`,
    );
  const text =
    options.output === "json"
      ? `${JSON.stringify(
          toCatalogFile({
            region,
            generatedAt: new Date().toISOString(),
            source: options.catalog ?? "embedded",
            instanceTypes,
            warnings,
          }),
          null,
          2,
        )}\n`
      : renderCatalogTable(instanceTypes, paint);
  return { text, warnings, errors };
}

/** Options of `nodeplan catalog refresh`. */
export interface CatalogRefreshOptions {
  region?: string;
  output: string;
  zones?: string;
  capacityTypes?: string;
}

/**
 * `nodeplan catalog refresh`: reads the region's catalog from EC2 and the Price List API (ambient
 * credentials) and writes the catalog file. Returns a summary line and the issues met on the way.
 */
export async function catalogRefresh(
  options: CatalogRefreshOptions,
  now: () => number = Date.now,
): Promise<{ summary: string; issues: string[] }> {
  const { region, ec2, pricing } = await liveClients(options.region);
  const zones = parseList(options.zones);
  const capacityTypes = parseCapacityTypes(options.capacityTypes);
  let result: Awaited<ReturnType<typeof refreshCatalogFile>>;
  try {
    result = await refreshCatalogFile({
      region,
      ec2,
      pricing,
      now,
      ...(zones ? { zones } : {}),
      ...(capacityTypes ? { capacityTypes } : {}),
    });
  } catch (e) {
    throw new UsageError(`catalog refresh for ${region} failed: ${(e as Error).message}`);
  }
  writeFileSync(options.output, `${JSON.stringify(result.file, null, 2)}\n`);
  const types = result.file.instanceTypes;
  const offerings = types.reduce((n, t) => n + t.offerings.length, 0);
  return {
    summary: `wrote ${types.length} instance types (${offerings} offerings) of ${region} to ${options.output}`,
    issues: [
      ...result.issues.map(
        (i) =>
          `${i.code}: ${"dataset" in i ? `${i.dataset}: ` : ""}${"detail" in i ? i.detail : JSON.stringify(i)}`,
      ),
      ...(result.file.warnings ?? []).map((w) => w.message),
    ],
  };
}
