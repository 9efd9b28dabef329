import { z } from "zod";
import { fromZodError, type InputError, InputValidationError } from "./errors.ts";
import {
  type CapacityType,
  CapacityTypeSchema,
  type InstanceType,
  type Node,
  OfferingSchema,
} from "./model.ts";
import { parseResourceList } from "./resources.ts";

/**
 * The provider-agnostic catalog file (../shared/CONTRACTS.md) and `parseCatalog`, which also reads the
 * shape of ../shared/data/aws-catalog-us-east-1.json. Pure and browser-safe: reading files is the
 * caller's business.
 */

const resourceList = z.record(z.string(), z.union([z.string(), z.number()]));

/** The catalog file written by a provider's refresh and read anywhere (CLI, browser). */
export const CatalogFileSchema = z.object({
  apiVersion: z.literal("nodeplan.dev/v1"),
  kind: z.literal("InstanceCatalog"),
  region: z.string().min(1),
  generatedAt: z.string(),
  source: z.string(),
  instanceTypes: z.array(
    z.object({
      name: z.string().min(1),
      labels: z.record(z.string(), z.string()).default({}),
      capacity: resourceList,
      allocatable: resourceList,
      offerings: z.array(OfferingSchema),
      exotic: z.boolean().optional(),
    }),
  ),
});
export type CatalogFile = z.input<typeof CatalogFileSchema>;

/** The published table shape of ../shared/data/aws-catalog-us-east-1.json. */
const PublishedCatalogSchema = z.object({
  meta: z.object({ region: z.string().min(1) }).passthrough(),
  instanceTypes: z.array(
    z.object({
      name: z.string().min(1),
      labels: z.record(z.string(), z.string()),
      allocatable: resourceList,
      onDemandPricePerHour: z.number().min(0).nullable(),
    }),
  ),
});

/** Options for `parseCatalog`. */
export interface ParseCatalogOptions {
  /** Zones to make offerings in (published shape only); default the region's first three (`<region>a..c`). */
  zones?: readonly string[];
  /** Capacity types to offer (published shape only); default on-demand only. */
  capacityTypes?: readonly CapacityType[];
  /** Name of the input, for error messages. */
  source?: string;
}

/** A parsed catalog: the model instance types, plus every entry that was rejected (the rest is kept). */
export interface Catalog {
  region: string;
  source: string;
  generatedAt?: string;
  instanceTypes: InstanceType[];
  /** Types left out because they cannot be offered (no published price); not errors. */
  skipped: { name: string; reason: string }[];
  errors: InputError[];
}

const MiB = 1024 * 1024;

/**
 * Parses a catalog in either shape into model instance types. Invalid entries are reported in
 * `errors` and left out; everything valid is kept. Throws `InputValidationError` only when the
 * document as a whole is neither shape.
 */
export function parseCatalog(json: unknown, options: ParseCatalogOptions = {}): Catalog {
  const source = options.source ?? "catalog";
  const asFile = CatalogFileSchema.safeParse(json);
  if (asFile.success) return fromCatalogFile(asFile.data, source);
  const asPublished = PublishedCatalogSchema.safeParse(json);
  if (asPublished.success) return fromPublished(asPublished.data, options, source);
  const looksLikeFile = typeof json === "object" && json !== null && "apiVersion" in json;
  throw new InputValidationError(fromZodError((looksLikeFile ? asFile : asPublished).error, { source }));
}

function fromCatalogFile(file: z.infer<typeof CatalogFileSchema>, source: string): Catalog {
  const errors: InputError[] = [];
  const instanceTypes: InstanceType[] = [];
  file.instanceTypes.forEach((it, i) => {
    const base = ["instanceTypes", i];
    const capacity = parseResourceList(it.capacity, [...base, "capacity"]);
    const allocatable = parseResourceList(it.allocatable, [...base, "allocatable"]);
    const found = [...capacity.errors, ...allocatable.errors].map((e) => ({ ...e, source, object: it.name }));
    if (found.length > 0) {
      errors.push(...found);
      return;
    }
    instanceTypes.push({
      name: it.name,
      labels: sortedRecord(it.labels),
      capacity: capacity.resources,
      allocatable: allocatable.resources,
      offerings: it.offerings,
      ...(it.exotic === undefined ? {} : { exotic: it.exotic }),
    });
  });
  return {
    region: file.region,
    source: file.source,
    generatedAt: file.generatedAt,
    instanceTypes: sortByName(instanceTypes),
    skipped: [],
    errors,
  };
}

function fromPublished(
  table: z.infer<typeof PublishedCatalogSchema>,
  options: ParseCatalogOptions,
  source: string,
): Catalog {
  const region = table.meta.region;
  const zones = options.zones ?? [`${region}a`, `${region}b`, `${region}c`];
  const capacityTypes = (options.capacityTypes ?? ["on-demand"]).map((c) => CapacityTypeSchema.parse(c));
  const errors: InputError[] = [];
  const skipped: Catalog["skipped"] = [];
  const instanceTypes: InstanceType[] = [];
  table.instanceTypes.forEach((it, i) => {
    const base = ["instanceTypes", i];
    if (it.onDemandPricePerHour === null) {
      skipped.push({ name: it.name, reason: "no published on-demand price" });
      return;
    }
    const allocatable = parseResourceList(it.allocatable, [...base, "allocatable"]);
    const vcpus = Number(it.labels["karpenter.k8s.aws/instance-cpu"]);
    const memoryMiB = Number(it.labels["karpenter.k8s.aws/instance-memory"]);
    const found = allocatable.errors.map((e) => ({ ...e, source, object: it.name }));
    if (!Number.isInteger(vcpus) || !Number.isInteger(memoryMiB)) {
      found.push({
        code: "invalid_catalog",
        source,
        object: it.name,
        path: [...base, "labels"],
        expected: "integer karpenter.k8s.aws/instance-cpu and karpenter.k8s.aws/instance-memory labels",
      });
    }
    if (found.length > 0) {
      errors.push(...found);
      return;
    }
    // The published table has no capacity: cpu and memory come from the instance labels; other
    // resources are only known as allocatable, which is the closest honest figure for limits.
    const capacity = { ...allocatable.resources, cpuMillis: vcpus * 1000, memoryBytes: memoryMiB * MiB };
    const price = it.onDemandPricePerHour;
    instanceTypes.push({
      name: it.name,
      labels: sortedRecord(it.labels),
      capacity: sortedRecord(capacity),
      allocatable: allocatable.resources,
      offerings: zones.flatMap((zone) =>
        capacityTypes.map((capacityType) => ({ zone, capacityType, pricePerHour: price, available: true })),
      ),
    });
  });
  return {
    region,
    source: "published catalog table",
    instanceTypes: sortByName(instanceTypes),
    skipped,
    errors,
  };
}

function sortedRecord<V>(record: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as V;
  return out;
}

function sortByName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * An existing node with the catalog price of its instance type (its zone and capacity type, else any
 * zone) when it carries none; `types` by name.
 */
export function withCatalogPrice(node: Node, types: ReadonlyMap<string, InstanceType>): Node {
  if (node.pricePerHour !== undefined || node.instanceType === undefined) return node;
  const it = types.get(node.instanceType);
  const capacityType = node.capacityType ?? "on-demand";
  const offering =
    it?.offerings.find((o) => o.zone === node.zone && o.capacityType === capacityType) ??
    it?.offerings.find((o) => o.capacityType === capacityType);
  return offering === undefined ? node : { ...node, pricePerHour: offering.pricePerHour };
}
