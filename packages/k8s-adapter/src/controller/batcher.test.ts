import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Batcher } from "./batcher.ts";
import { ControllerMetrics } from "./metrics.ts";

describe("Batcher (Karpenter's idle/max window)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("closes after the idle duration, or at the max duration under a steady stream", async () => {
    const runs: number[] = [];
    const b = new Batcher({ idleMs: 1000, maxMs: 10_000 }, async () => void runs.push(Date.now()), Date.now);
    const t0 = Date.now();
    b.trigger();
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([t0 + 1000]);
    // A trigger every 500 ms never leaves 1 s idle: the batch closes at 10 s.
    const t1 = Date.now();
    for (let i = 0; i < 30; i++) {
      b.trigger();
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(runs[1]).toBe(t1 + 10_000);
    await b.stop();
  });

  it("property: every trigger is followed by a run within the max window, and runs never overlap", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 500 }),
        async (gaps, runMs) => {
          const idleMs = 1000;
          const maxMs = 4000;
          const starts: number[] = [];
          let active = 0;
          let overlapped = false;
          const b = new Batcher(
            { idleMs, maxMs },
            async () => {
              starts.push(Date.now());
              active += 1;
              if (active > 1) overlapped = true;
              await new Promise((r) => setTimeout(r, runMs));
              active -= 1;
            },
            Date.now,
          );
          const triggers: number[] = [];
          for (const gap of gaps) {
            await vi.advanceTimersByTimeAsync(gap);
            triggers.push(Date.now());
            b.trigger();
          }
          await vi.advanceTimersByTimeAsync(maxMs + 2 * runMs + 10);
          await b.stop();
          expect(overlapped).toBe(false);
          // A trigger is served by a run that starts after it, at the latest max + one run later.
          for (const t of triggers) {
            expect(starts.some((s) => s >= t && s <= t + maxMs + runMs)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("ControllerMetrics", () => {
  it("renders the Prometheus text format with HELP, TYPE, labels and histogram buckets", () => {
    const m = new ControllerMetrics();
    m.pendingPods.set(3);
    m.costPerHour.set(1.5, { kind: "now" });
    m.disruptionCandidates.inc({ blocker: "pdb_blocks_eviction" });
    m.disruptionCandidates.inc({ blocker: "pdb_blocks_eviction" });
    m.solveDuration.observe(0.02);
    m.solveDuration.observe(3);
    const text = m.render();
    expect(text).toContain("# TYPE nodeplan_pending_pods gauge\nnodeplan_pending_pods 3\n");
    expect(text).toContain('nodeplan_cost_per_hour_dollars{kind="now"} 1.5');
    expect(text).toContain('nodeplan_disruption_candidates{blocker="pdb_blocks_eviction"} 2');
    expect(text).toContain('nodeplan_solve_duration_seconds_bucket{le="0.025"} 1');
    expect(text).toContain('nodeplan_solve_duration_seconds_bucket{le="5"} 2');
    expect(text).toContain('nodeplan_solve_duration_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain("nodeplan_solve_duration_seconds_count 2");
    expect(text).toContain("# TYPE nodeplan_solve_duration_seconds histogram");
  });
});
