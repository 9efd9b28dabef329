import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { containerRequests, effectiveRequests, type InitContainerResources } from "./requests.ts";
import { addResources, maxResources, type Resources } from "./resources.ts";

const Mi = 2 ** 20;

describe("containerRequests", () => {
  test("a resource with only a limit requests its limit; an explicit request wins", () => {
    expect(
      containerRequests({
        requests: { cpuMillis: 100, memoryBytes: 0 },
        limits: { cpuMillis: 500, memoryBytes: 256 * Mi, "nvidia.com/gpu": 1 },
      }),
    ).toEqual({ cpuMillis: 100, memoryBytes: 0, "nvidia.com/gpu": 1 });
    expect(containerRequests({})).toEqual({});
  });
});

describe("effectiveRequests", () => {
  test("sums app containers and always counts one pod", () => {
    expect(
      effectiveRequests({
        containers: [
          { requests: { cpuMillis: 250, memoryBytes: 128 * Mi } },
          { requests: { cpuMillis: 100, memoryBytes: 64 * Mi } },
        ],
      }),
    ).toEqual({ cpuMillis: 350, memoryBytes: 192 * Mi, pods: 1 });
    expect(effectiveRequests({ containers: [] })).toEqual({ pods: 1 });
    expect(effectiveRequests({ containers: [{ requests: { pods: 5 } }] })).toEqual({ pods: 1 });
  });

  test("a limits-only container requests its limits", () => {
    expect(
      effectiveRequests({
        containers: [{ limits: { cpuMillis: 2000, memoryBytes: Mi * 1024 } }, { requests: { cpuMillis: 1 } }],
      }),
    ).toEqual({ cpuMillis: 2001, memoryBytes: 1024 * Mi, pods: 1 });
  });

  test("an init container larger than the app decides that resource only", () => {
    expect(
      effectiveRequests({
        containers: [{ requests: { cpuMillis: 100, memoryBytes: 512 * Mi } }],
        initContainers: [
          { requests: { cpuMillis: 2000, memoryBytes: 64 * Mi } },
          { requests: { cpuMillis: 500, memoryBytes: 1024 * Mi } },
        ],
      }),
    ).toEqual({ cpuMillis: 2000, memoryBytes: 1024 * Mi, pods: 1 });
  });

  test("sidecars run with the app and with the init containers after them", () => {
    // init: sidecar A (100m) -> regular I (1000m) -> sidecar B (200m); app: 300m.
    // I needs 1000 + A = 1100; B needs A + B = 300; app + sidecars = 300 + 100 + 200 = 600.
    const initContainers: InitContainerResources[] = [
      { restartPolicy: "Always", requests: { cpuMillis: 100 } },
      { requests: { cpuMillis: 1000 } },
      { restartPolicy: "Always", requests: { cpuMillis: 200 } },
    ];
    expect(effectiveRequests({ containers: [{ requests: { cpuMillis: 300 } }], initContainers })).toEqual({
      cpuMillis: 1100,
      pods: 1,
    });
  });

  test("a sidecar after a regular init container does not add to it", () => {
    // regular I (1000m) runs before sidecar B (800m): I needs 1000; app + B = 100 + 800 = 900.
    expect(
      effectiveRequests({
        containers: [{ requests: { cpuMillis: 100 } }],
        initContainers: [
          { requests: { cpuMillis: 1000 } },
          { restartPolicy: "Always", requests: { cpuMillis: 800 } },
        ],
      }),
    ).toEqual({ cpuMillis: 1000, pods: 1 });
    // Swapped, B is running while I initializes: 1000 + 800.
    expect(
      effectiveRequests({
        containers: [{ requests: { cpuMillis: 100 } }],
        initContainers: [
          { restartPolicy: "Always", requests: { cpuMillis: 800 } },
          { requests: { cpuMillis: 1000 } },
        ],
      }),
    ).toEqual({ cpuMillis: 1800, pods: 1 });
  });

  test("sidecars alone add to the app sum", () => {
    expect(
      effectiveRequests({
        containers: [{ requests: { cpuMillis: 500, memoryBytes: 256 * Mi } }],
        initContainers: [
          { restartPolicy: "Always", requests: { cpuMillis: 50, memoryBytes: 64 * Mi } },
          { restartPolicy: "Always", limits: { cpuMillis: 150, memoryBytes: 32 * Mi } },
        ],
      }),
    ).toEqual({ cpuMillis: 700, memoryBytes: 352 * Mi, pods: 1 });
  });

  test("overhead is added after the max", () => {
    expect(
      effectiveRequests({
        containers: [{ requests: { cpuMillis: 100, memoryBytes: 100 * Mi } }],
        initContainers: [{ requests: { cpuMillis: 400 } }],
        overhead: { cpuMillis: 250, memoryBytes: 120 * Mi },
      }),
    ).toEqual({ cpuMillis: 650, memoryBytes: 220 * Mi, pods: 1 });
  });

  test("extended resources follow the same rule, keys sorted", () => {
    const result = effectiveRequests({
      containers: [
        { limits: { "nvidia.com/gpu": 2 }, requests: { cpuMillis: 1000 } },
        { requests: { "vpc.amazonaws.com/pod-eni": 1 } },
      ],
      initContainers: [
        { requests: { "nvidia.com/gpu": 4, "hugepages-2Mi": 64 * Mi } },
        { restartPolicy: "Always", requests: { "aws.amazon.com/neuron": 1 } },
      ],
    });
    expect(result).toEqual({
      "aws.amazon.com/neuron": 1,
      cpuMillis: 1000,
      "hugepages-2Mi": 64 * Mi,
      "nvidia.com/gpu": 4,
      pods: 1,
      "vpc.amazonaws.com/pod-eni": 1,
    });
    expect(Object.keys(result)).toEqual(Object.keys(result).sort());
  });

  const vector = fc.dictionary(
    fc.constantFrom("cpuMillis", "memoryBytes", "nvidia.com/gpu"),
    fc.integer({ min: 0, max: 10_000 }),
  );
  const container = fc.record({ requests: vector, limits: vector }, { requiredKeys: [] });
  const init = fc.record(
    { requests: vector, limits: vector, restartPolicy: fc.constant("Always" as const) },
    { requiredKeys: [] },
  );

  test("without sidecars it is max(sum of app, largest init) + overhead", () => {
    const regularInit = fc.record({ requests: vector, limits: vector }, { requiredKeys: [] });
    fc.assert(
      fc.property(
        fc.array(container, { maxLength: 4 }),
        fc.array(regularInit, { maxLength: 4 }),
        vector,
        (cs, is, oh) => {
          let app: Resources = {};
          for (const c of cs) app = addResources(app, { ...c.limits, ...c.requests });
          let largest: Resources = {};
          for (const i of is) largest = maxResources(largest, { ...i.limits, ...i.requests });
          const expected = { ...addResources(maxResources(app, largest), oh), pods: 1 };
          expect(effectiveRequests({ containers: cs, initContainers: is, overhead: oh })).toEqual(expected);
        },
      ),
    );
  });

  test("the effective requests cover every container and sidecar together", () => {
    fc.assert(
      fc.property(fc.array(container, { maxLength: 4 }), fc.array(init, { maxLength: 5 }), (cs, is) => {
        const result = effectiveRequests({ containers: cs, initContainers: is });
        let running: Resources = {};
        for (const c of [...cs, ...is.filter((i) => i.restartPolicy === "Always")]) {
          running = addResources(running, containerRequests(c));
        }
        for (const [key, amount] of Object.entries(running))
          expect(result[key] ?? 0).toBeGreaterThanOrEqual(amount);
        for (const i of is) {
          for (const [key, amount] of Object.entries(containerRequests(i))) {
            expect(result[key] ?? 0).toBeGreaterThanOrEqual(amount);
          }
        }
      }),
    );
  });
});
