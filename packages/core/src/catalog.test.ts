import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseCatalog } from "./catalog.ts";
import { isInputValidationError } from "./errors.ts";

const shared = JSON.parse(
  readFileSync(new URL("../../../../shared/data/aws-catalog-us-east-1.json", import.meta.url), "utf8"),
);
const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe("parseCatalog", () => {
  test("the published us-east-1 table: 1,345 priced types, on-demand in the region's first three zones", () => {
    const catalog = parseCatalog(shared);
    expect(catalog.errors).toEqual([]);
    expect(catalog.instanceTypes).toHaveLength(1345);
    expect(catalog.skipped).toHaveLength(18);
    const m5 = catalog.instanceTypes.find((t) => t.name === "m5.large");
    expect(m5?.allocatable).toMatchObject({
      cpuMillis: 1930,
      memoryBytes: 6903 * MiB,
      pods: 29,
      ephemeralBytes: 17 * GiB,
    });
    expect(m5?.capacity).toMatchObject({ cpuMillis: 2000, memoryBytes: 8192 * MiB });
    expect(m5?.offerings).toEqual(
      ["us-east-1a", "us-east-1b", "us-east-1c"].map((zone) => ({
        zone,
        capacityType: "on-demand",
        pricePerHour: 0.096,
        available: true,
      })),
    );
  });

  test("zones and capacity types are options", () => {
    const catalog = parseCatalog(shared, { zones: ["us-east-1d"], capacityTypes: ["spot", "on-demand"] });
    expect(catalog.instanceTypes[0]?.offerings.map((o) => `${o.zone}/${o.capacityType}`)).toEqual([
      "us-east-1d/spot",
      "us-east-1d/on-demand",
    ]);
  });

  test("a bad entry is reported with its path and the rest still loads", () => {
    const broken = structuredClone(shared);
    broken.instanceTypes[0].allocatable.memory = "10Mb";
    const catalog = parseCatalog(broken, { source: "broken.json" });
    expect(catalog.instanceTypes).toHaveLength(1344);
    expect(catalog.errors).toHaveLength(1);
    expect(catalog.errors[0]).toMatchObject({
      code: "invalid_quantity",
      source: "broken.json",
      path: ["instanceTypes", 0, "allocatable", "memory"],
    });
  });

  test("a document that is no catalog is rejected as a whole, with paths", () => {
    try {
      parseCatalog({ apiVersion: "nodeplan.dev/v1", kind: "InstanceCatalog" });
      expect.unreachable();
    } catch (e) {
      expect(isInputValidationError(e)).toBe(true);
      if (isInputValidationError(e)) expect(e.errors.map((x) => x.path.join("."))).toContain("region");
    }
  });
});
