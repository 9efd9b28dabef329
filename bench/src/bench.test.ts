import { describe, expect, test } from "vitest";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { catalog } from "./catalogs.ts";
import { runScenario } from "./main.ts";
import { mulberry32, pick } from "./random.ts";
import { scenarios } from "./scenarios.ts";
import { genericPods } from "./workloads.ts";

/** The smoke pass `npm test` runs: every scenario once at small N (the full run is `npm run bench`). */
describe("bench smoke pass", () => {
  for (const s of scenarios) {
    test(`${s.id} runs at small N and its plan validates`, async () => {
      const row = await runScenario(s, { smoke: true, timeMs: 0 });
      expect(row.id).toBe(s.id);
      expect(row.pods).toBeGreaterThan(0);
      expect(row.scheduledPods).toBe(row.pods);
      expect(row.medianMs).toBeGreaterThan(0);
      if (row.lowerBoundPerHour !== null) {
        expect(row.valid).toBe(true);
        expect(row.costPerHour as number).toBeGreaterThanOrEqual(
          (row.lowerBoundPerHour as number) * (1 - 1e-9),
        );
        // A comparison counts only when both sides schedule the same pods.
        if (row.baselineScheduledPods === row.scheduledPods) {
          expect(row.costPerHour as number).toBeLessThanOrEqual(
            (row.baselineCostPerHour as number) * (1 + 1e-9),
          );
        }
      }
    });
  }
});

describe("scenario generation", () => {
  test("mulberry32 seeded with 42 is the generator of BENCHMARK-SCENARIOS.md", () => {
    const rand = mulberry32(42);
    // Reference values of mulberry32(42), first three draws.
    expect([rand(), rand(), rand()].map((x) => x.toFixed(10))).toEqual([
      "0.6011037519",
      "0.4482905590",
      "0.8524657935",
    ]);
    expect(pick(mulberry32(42), ["a", "b", "c", "d", "e"])).toBe("d");
  });

  test("generic pods draw cpu, then memory, then the label, pod by pod", () => {
    const pods = genericPods(3);
    expect(pods.map((p) => p.name)).toEqual(["generic-0", "generic-1", "generic-2"]);
    const rand = mulberry32(42);
    const cpu = pick(rand, [100, 250, 500, 1000, 1500]);
    const mem = pick(rand, [100, 256, 512, 1024, 2048, 4096]);
    const label = pick(rand, ["a", "b", "c", "d", "e", "f", "g"]);
    expect(pods[0]?.requests).toEqual({ cpuMillis: cpu, memoryBytes: mem * 1024 * 1024, pods: 1 });
    expect(pods[0]?.labels).toEqual({ "my-label": label });
  });

  test("catalogs: fake-400 prices and aws-us-east-1 through parseCatalog", () => {
    const fake = catalog("fake-400");
    expect(fake).toHaveLength(400);
    expect(fake[9]?.offerings).toHaveLength(5);
    expect(fake[9]?.offerings[0]?.pricePerHour).toBeCloseTo(0.1 * 10 + (0.1 * 20 * 2 ** 30) / 1e9, 12);
    const aws = catalog("aws-us-east-1");
    expect(aws).toHaveLength(1345);
    expect(new Set(aws.flatMap((t) => t.offerings.map((o) => o.zone)))).toEqual(
      new Set(["us-east-1a", "us-east-1b", "us-east-1c"]),
    );
    expect(catalog("kwok-linear")).toHaveLength(72);
  });

  test("the Karpenter baseline keeps every fitting type and pays the cheapest at the end", () => {
    const types = catalog("fake-400").slice(0, 4);
    const r = karpenterBaseline(genericPods(5), types);
    expect(r.scheduledPods).toBe(5);
    expect(r.nodes).toBeGreaterThan(0);
  });
});
