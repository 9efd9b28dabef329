import { readFileSync } from "node:fs";
import { markExotic, withAwsNodeCosts } from "@nodeplan/aws-provider";
import { type InstanceType, parseCatalog } from "@nodeplan/core";

/** The catalogs of ../shared/BENCHMARK-SCENARIOS.md. */
export type CatalogId = "fake-400" | "aws-us-east-1" | "kwok-linear";

const GiB = 1024 ** 3;

/** Karpenter's benchmark catalog: fake-it-0..399. */
export function fake400(): InstanceType[] {
  const types: InstanceType[] = [];
  for (let i = 0; i < 400; i++) {
    const cpu = i + 1;
    const memoryBytes = 2 * (i + 1) * GiB;
    const resources = { cpuMillis: cpu * 1000, memoryBytes, pods: 10 * (i + 1) };
    const pricePerHour = 0.1 * cpu + 0.1 * (memoryBytes / 1e9);
    const offering = (zone: string, capacityType: "spot" | "on-demand") => ({
      zone,
      capacityType,
      pricePerHour,
      available: true,
    });
    types.push({
      name: `fake-it-${i}`,
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": `fake-it-${i}`,
      },
      capacity: resources,
      allocatable: resources,
      offerings: [
        offering("test-zone-1", "spot"),
        offering("test-zone-2", "spot"),
        offering("test-zone-1", "on-demand"),
        offering("test-zone-2", "on-demand"),
        offering("test-zone-3", "on-demand"),
      ],
    });
  }
  return types;
}

const dataUrl = (file: string) => new URL(`../../../shared/data/${file}`, import.meta.url);

/**
 * aws-us-east-1 (../shared/BENCHMARK-SCENARIOS.md): ../shared/data/aws-catalog-us-east-1.json through
 * core's parseCatalog (1,345 priced types, on-demand), offered in us-east-1a/b/c only where
 * ../shared/data/aws-offerings-us-east-1.json says EC2 offers the type (by zone ID), exotic types
 * marked, and every offering priced with its node's costs: Karpenter's AL2023 root volume (20 GiB
 * gp3), no public IPv4 (private subnets), burstable credits by the provider's documented model (each
 * family's AWS default, pods using what they request).
 */
export function awsUsEast1(): InstanceType[] {
  const url = dataUrl("aws-catalog-us-east-1.json");
  const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
  const catalog = parseCatalog(JSON.parse(readFileSync(url, "utf8")), { source: url.pathname, zones });
  if (catalog.errors.length > 0) throw new Error(`aws-us-east-1 catalog has ${catalog.errors.length} errors`);
  const offerings = JSON.parse(readFileSync(dataUrl("aws-offerings-us-east-1.json"), "utf8")) as {
    meta: { zoneNameToId: Record<string, string> };
    offerings: Record<string, { zoneIds: string[] }>;
  };
  const offered = catalog.instanceTypes.map((t) => {
    const ids = new Set(offerings.offerings[t.name]?.zoneIds ?? []);
    return {
      ...t,
      offerings: t.offerings.flatMap((o) => {
        const zoneId = offerings.meta.zoneNameToId[o.zone];
        return zoneId !== undefined && ids.has(zoneId) ? [{ ...o, zoneId }] : [];
      }),
    };
  });
  return withAwsNodeCosts(markExotic(offered.filter((t) => t.offerings.length > 0)), undefined, undefined);
}

/** A linear-priced catalog on which per-resource bounds are tight. */
export function kwokLinear(): InstanceType[] {
  const types: InstanceType[] = [];
  for (const cpu of [1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256]) {
    for (const factor of [2, 4, 8]) {
      for (const arch of ["amd64", "arm64"]) {
        const gib = cpu * factor;
        const name = `kwok-${arch}-${cpu}x${gib}`;
        const resources = { cpuMillis: cpu * 1000, memoryBytes: gib * GiB, pods: Math.min(16 * cpu, 1024) };
        const onDemand = 0.025 * cpu + 0.001 * gib;
        types.push({
          name,
          labels: {
            "kubernetes.io/arch": arch,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": name,
          },
          capacity: resources,
          allocatable: resources,
          offerings: ["z1", "z2", "z3", "z4"].flatMap((zone) => [
            { zone, capacityType: "on-demand" as const, pricePerHour: onDemand, available: true },
            { zone, capacityType: "spot" as const, pricePerHour: 0.7 * onDemand, available: true },
          ]),
        });
      }
    }
  }
  return types;
}

/** A catalog by id (cached: parsing the AWS file takes a moment). */
export function catalog(id: CatalogId): InstanceType[] {
  let c = cache.get(id);
  if (c === undefined) {
    c = id === "fake-400" ? fake400() : id === "aws-us-east-1" ? awsUsEast1() : kwokLinear();
    cache.set(id, c);
  }
  return c;
}
const cache = new Map<CatalogId, InstanceType[]>();

/** The ~30-type catalogs of the exact-optimum rows (small enough for a MIP solver). */
export type SubsetId = "fake-400/30" | "aws-us-east-1/30" | "kwok-linear/30";

const AWS_FAMILIES = ["t3a", "t4g", "m6i", "m6g", "c6i", "c6g", "r6i", "r6g"];
const AWS_SIZES = ["medium", "large", "xlarge", "2xlarge"];

/**
 * fake-400/30: fake-it-0..29. aws-us-east-1/30: the general-purpose, compute and memory families
 * t3a, t4g, m6i, m6g, c6i, c6g, r6i, r6g in sizes medium to 2xlarge (29 types). kwok-linear/30: the
 * types with at most 16 cpus (30 types).
 */
export function catalogSubset(id: SubsetId): InstanceType[] {
  if (id === "fake-400/30") return catalog("fake-400").slice(0, 30);
  if (id === "kwok-linear/30")
    return catalog("kwok-linear").filter((t) => (t.allocatable.cpuMillis ?? 0) <= 16_000);
  const wanted = new Set(AWS_FAMILIES.flatMap((f) => AWS_SIZES.map((s) => `${f}.${s}`)));
  return catalog("aws-us-east-1").filter((t) => wanted.has(t.name));
}
