import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnavailableOfferings } from "./unavailable-offerings.ts";

const T0 = Date.parse("2026-12-01T09:00:00Z");

describe("UnavailableOfferings", () => {
  it("an offering is unavailable for 3 minutes, then available again; a new mark extends it", () => {
    let now = T0;
    const cache = new UnavailableOfferings({ now: () => now });
    cache.markUnavailable("m5.large", "us-east-1a", "spot", "InsufficientInstanceCapacity");
    expect(cache.isUnavailable("m5.large", "us-east-1a", "spot")).toBe(true);
    expect(cache.isUnavailable("m5.large", "us-east-1a", "on-demand")).toBe(false);
    now += 120_000;
    cache.markUnavailable("m5.large", "us-east-1a", "spot", "MaxSpotInstanceCountExceeded");
    now += 120_000;
    expect(cache.list()).toEqual([
      {
        instanceType: "m5.large",
        zone: "us-east-1a",
        capacityType: "spot",
        reason: "MaxSpotInstanceCountExceeded",
        until: new Date(T0 + 300_000).toISOString(),
      },
    ]);
    now = T0 + 300_000;
    expect(cache.isUnavailable("m5.large", "us-east-1a", "spot")).toBe(false);
    expect(cache.list()).toEqual([]);
  });

  it("property: list() holds exactly the marks younger than the TTL", () => {
    const mark = fc.record({
      type: fc.constantFrom("m5.large", "c5.xlarge", "m6g.large"),
      zone: fc.constantFrom("us-east-1a", "us-east-1b"),
      capacityType: fc.constantFrom("spot", "on-demand"),
      at: fc.integer({ min: 0, max: 600_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(mark, { maxLength: 20 }),
        fc.integer({ min: 0, max: 900_000 }),
        (marks, readAt) => {
          let now = T0;
          const cache = new UnavailableOfferings({ now: () => now });
          const latest = new Map<string, number>();
          for (const m of [...marks].sort((a, b) => a.at - b.at)) {
            now = T0 + m.at;
            cache.markUnavailable(m.type, m.zone, m.capacityType, "InsufficientInstanceCapacity");
            latest.set(`${m.type}/${m.zone}/${m.capacityType}`, m.at);
          }
          now = T0 + Math.max(readAt, ...marks.map((m) => m.at));
          const expected = [...latest]
            .filter(([, at]) => T0 + at + 180_000 > now)
            .map(([k]) => k)
            .sort();
          expect(cache.list().map((u) => `${u.instanceType}/${u.zone}/${u.capacityType}`)).toEqual(expected);
        },
      ),
    );
  });
});
