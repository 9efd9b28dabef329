import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CapacityReservationAvailability } from "./capacity-reservations.ts";

describe("CapacityReservationAvailability", () => {
  it("launches lower the synced count, terminations raise it, a later sync replaces it", () => {
    let clock = 1000;
    const a = new CapacityReservationAvailability({ now: () => clock });
    expect(a.availableCount("cr-1")).toBeUndefined();
    a.sync([{ id: "cr-1", availableInstanceCount: 2 }], clock);
    a.markLaunched("cr-1");
    expect(a.availableCount("cr-1")).toBe(1);
    a.markLaunched("cr-1");
    a.markLaunched("cr-1");
    expect(a.availableCount("cr-1")).toBe(0);
    a.markTerminated("cr-1");
    expect(a.availableCount("cr-1")).toBe(1);
    clock += 10;
    // EC2 now reflects both launches and the termination.
    a.sync([{ id: "cr-1", availableInstanceCount: 1 }], clock);
    expect(a.availableCount("cr-1")).toBe(1);
  });

  it("a sync that started before a launch does not count that launch as reflected", () => {
    let clock = 1000;
    const a = new CapacityReservationAvailability({ now: () => clock });
    a.sync([{ id: "cr-1", availableInstanceCount: 3 }], clock);
    const startedAt = ++clock;
    clock += 5;
    a.markLaunched("cr-1");
    // The answer of the call that started before the launch still says 3.
    a.sync([{ id: "cr-1", availableInstanceCount: 3 }], startedAt);
    expect(a.availableCount("cr-1")).toBe(2);
    // A call started after it is taken as is.
    clock += 5;
    a.sync([{ id: "cr-1", availableInstanceCount: 2 }], clock);
    expect(a.availableCount("cr-1")).toBe(2);
  });

  it("a reservation EC2 refused counts as empty until the next sync; unknown reservations are not tracked on launch", () => {
    const a = new CapacityReservationAvailability({ now: () => 0 });
    a.markLaunched("cr-unknown");
    a.markTerminated("cr-unknown");
    expect(a.availableCount("cr-unknown")).toBeUndefined();
    a.markUnavailable("cr-2");
    expect(a.availableCount("cr-2")).toBe(0);
    a.sync([{ id: "cr-2", availableInstanceCount: 4 }], 1);
    expect(a.availableCount("cr-2")).toBe(4);
  });

  it("property: the count is never negative and a sync gives EC2's count less the launches after the call started", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("launch" as const) }),
      fc.record({ kind: fc.constant("terminate" as const) }),
      fc.record({ kind: fc.constant("unavailable" as const) }),
      fc.record({
        kind: fc.constant("sync" as const),
        count: fc.nat(20),
        lag: fc.nat(5),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let clock = 0;
        const a = new CapacityReservationAvailability({ now: () => clock });
        const launches: number[] = [];
        let lastStart = 0;
        a.sync([{ id: "cr", availableInstanceCount: 5 }], clock);
        for (const o of ops) {
          clock += 1;
          if (o.kind === "launch") {
            a.markLaunched("cr");
            launches.push(clock);
          } else if (o.kind === "terminate") a.markTerminated("cr");
          else if (o.kind === "unavailable") a.markUnavailable("cr");
          else {
            // Syncs of one catalog do not overlap: each starts after the one before.
            lastStart = Math.max(lastStart, clock - o.lag);
            const startedAt = lastStart;
            a.sync([{ id: "cr", availableInstanceCount: o.count }], startedAt);
            const unseen = launches.filter((t) => t >= startedAt).length;
            expect(a.availableCount("cr")).toBe(Math.max(0, o.count - unseen));
          }
          expect(a.availableCount("cr")).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});
