import { describe, expect, test } from "vitest";
import {
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  desiredFromUtilization,
  Hpa,
  type HpaSpec,
  LoadCurve,
} from "./autoscaling.ts";

const spec = (extra: Partial<HpaSpec> = {}): HpaSpec => ({
  namespace: "shop",
  name: "api",
  target: { kind: "Deployment", name: "api" },
  minReplicas: 2,
  maxReplicas: 100,
  targetUtilization: 50,
  scaleUp: DEFAULT_SCALE_UP,
  scaleDown: DEFAULT_SCALE_DOWN,
  ...extra,
});

/** All `replicas` Ready, using `cores` in total, 1000m requested each. */
const sample = (replicas: number, cores: number) => ({
  replicas,
  ready: replicas,
  notReady: 0,
  requestMillis: 1000,
  usageMillis: cores * 1000,
});

describe("the HPA's replica calculation", () => {
  test("ceil(ratio x ready pods) beyond the 10% tolerance, unchanged within it", () => {
    // 10 pods at 80% against a 50% target: ceil(1.6 x 10) = 16.
    expect(desiredFromUtilization(sample(10, 8), 50)).toBe(16);
    // 10 pods at 54%: ratio 1.08 is within tolerance.
    expect(desiredFromUtilization(sample(10, 5.4), 50)).toBe(10);
    // No pod with metrics: no recommendation.
    expect(desiredFromUtilization({ ...sample(10, 5), ready: 0, notReady: 10 }, 50)).toBeUndefined();
  });

  test("pods without metrics count as idle on a scale-up, and a recount that flips direction keeps replicas", () => {
    // 5 Ready pods at 100% (5 cores) against 50%, 5 more not Ready: recounted over 10 pods at 50% -> within tolerance.
    expect(
      desiredFromUtilization(
        { replicas: 10, ready: 5, notReady: 5, requestMillis: 1000, usageMillis: 5000 },
        50,
      ),
    ).toBe(10);
    // 5 Ready pods at 160%: recount over 10 pods = 80% -> ceil(1.6 x 10) = 16.
    expect(
      desiredFromUtilization(
        { replicas: 10, ready: 5, notReady: 5, requestMillis: 1000, usageMillis: 8000 },
        50,
      ),
    ).toBe(16);
  });
});

describe("the HPA's behavior", () => {
  test("scale-down waits out the 300 s stabilization window: the highest recommendation in it wins", () => {
    const hpa = new Hpa(spec());
    // 20 pods, then the load drops by half at t = 15 s.
    expect(hpa.sync(0, sample(20, 10))).toBeUndefined();
    const out: (number | undefined)[] = [];
    for (let t = 15; t <= 330; t += 15) out.push(hpa.sync(t * 1000, sample(20, 5)));
    // Every sync within 300 s of the t = 0 recommendation (20) keeps 20 replicas.
    expect(out.slice(0, 19).every((x) => x === undefined)).toBe(true);
    // At t = 300 s the t = 0 recommendation leaves the window: scale to 10.
    expect(out[19]).toBe(10);
  });

  test("scale-up is immediate (window 0) but limited to max(4 pods, 100%) per 15 s", () => {
    const hpa = new Hpa(spec());
    // 2 pods at 500% against 50% want 20: limited to max(2 + 4, 2 x 2) = 6.
    expect(hpa.sync(0, sample(2, 10))).toBe(6);
    // 15 s later (a new period) from 6: max(6 + 4, 12) = 12.
    expect(hpa.sync(15_000, sample(6, 30))).toBe(12);
    // Within the same 15 s: nothing more (the period's additions already used the limit).
    expect(hpa.sync(20_000, sample(12, 60))).toBeUndefined();
  });

  test("a scale-up stabilization window takes the lowest recommendation in it", () => {
    const hpa = new Hpa(spec({ scaleUp: { ...DEFAULT_SCALE_UP, stabilizationWindowSeconds: 60 } }));
    expect(hpa.sync(0, sample(10, 5))).toBeUndefined(); // recommends 10
    // The load spikes: recommendation 20, but 10 was recommended within the last 60 s.
    expect(hpa.sync(15_000, sample(10, 10))).toBeUndefined();
    expect(hpa.sync(45_000, sample(10, 10))).toBeUndefined();
    // Once the t = 0 recommendation has left the window, the lowest left is 20.
    expect(hpa.sync(61_000, sample(10, 10))).toBe(20);
  });

  test("min and max bound what the HPA sets", () => {
    const hpa = new Hpa(
      spec({ maxReplicas: 8, scaleDown: { ...DEFAULT_SCALE_DOWN, stabilizationWindowSeconds: 0 } }),
    );
    expect(hpa.sync(0, sample(6, 60))).toBe(8);
    expect(hpa.sync(15_000, sample(8, 0.1))).toBe(2);
  });
});

describe("load curves", () => {
  test("linear between points, repeating with the period", () => {
    const curve = new LoadCurve(
      [
        { atMs: 0, cores: 10 },
        { atMs: 3_600_000, cores: 20 },
      ],
      7_200_000,
      0,
    );
    expect(curve.coresAt(0)).toBe(10);
    expect(curve.coresAt(1_800_000)).toBe(15);
    expect(curve.coresAt(5_000_000)).toBe(20);
    expect(curve.coresAt(7_200_000 + 1_800_000)).toBe(15);
  });
});
