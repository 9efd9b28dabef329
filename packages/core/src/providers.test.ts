import { describe, expect, it } from "vitest";
import type { InstanceType } from "./model.ts";
import { withUnavailableOfferings } from "./providers.ts";

describe("withUnavailableOfferings", () => {
  const type: InstanceType = {
    name: "m5.large",
    labels: {},
    capacity: {},
    allocatable: {},
    offerings: [
      { zone: "us-east-1a", capacityType: "spot", pricePerHour: 0.04, available: true },
      { zone: "us-east-1a", capacityType: "on-demand", pricePerHour: 0.096, available: true },
    ],
  };
  it("marks only the listed offerings unavailable and leaves the input untouched", () => {
    const out = withUnavailableOfferings(
      [type],
      [{ instanceType: "m5.large", zone: "us-east-1a", capacityType: "spot", reason: "x", until: "" }],
    );
    expect(out[0]?.offerings.map((o) => o.available)).toEqual([false, true]);
    expect(type.offerings[0]?.available).toBe(true);
    expect(withUnavailableOfferings([type], [])[0]).toBe(type);
  });
});
