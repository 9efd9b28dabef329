import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  addResources,
  CPU_MILLIS,
  EPHEMERAL_BYTES,
  exceededResources,
  fits,
  formatResources,
  isZero,
  k8sNameFor,
  MEMORY_BYTES,
  maxResources,
  PODS,
  parseResourceList,
  quantityKindFor,
  type Resources,
  resourceKeyFor,
  resourceKeys,
  scaleResources,
  subtractResources,
} from "./resources.ts";

const Gi = 2 ** 30;
const Mi = 2 ** 20;

describe("resource names", () => {
  test.each([
    ["cpu", "cpuMillis", "cpu"],
    ["memory", "memoryBytes", "bytes"],
    ["ephemeral-storage", "ephemeralBytes", "bytes"],
    ["pods", "pods", "count"],
    ["hugepages-2Mi", "hugepages-2Mi", "bytes"],
    ["hugepages-1Gi", "hugepages-1Gi", "bytes"],
    ["nvidia.com/gpu", "nvidia.com/gpu", "count"],
    ["amd.com/gpu", "amd.com/gpu", "count"],
    ["aws.amazon.com/neuron", "aws.amazon.com/neuron", "count"],
    ["aws.amazon.com/neuroncore", "aws.amazon.com/neuroncore", "count"],
    ["vpc.amazonaws.com/pod-eni", "vpc.amazonaws.com/pod-eni", "count"],
    ["vpc.amazonaws.com/efa", "vpc.amazonaws.com/efa", "count"],
    ["example.com/widget", "example.com/widget", "count"],
  ])("%s <-> %s (%s)", (k8sName, modelKey, kind) => {
    expect(resourceKeyFor(k8sName)).toBe(modelKey);
    expect(k8sNameFor(modelKey)).toBe(k8sName);
    expect(quantityKindFor(k8sName)).toBe(kind);
  });

  test("constants are the model keys", () => {
    expect([CPU_MILLIS, MEMORY_BYTES, EPHEMERAL_BYTES, PODS]).toEqual([
      "cpuMillis",
      "memoryBytes",
      "ephemeralBytes",
      "pods",
    ]);
  });

  test("inherited object properties are not names", () => {
    expect(resourceKeyFor("constructor")).toBe("constructor");
    expect(k8sNameFor("toString")).toBe("toString");
  });
});

describe("parseResourceList", () => {
  test("converts a ResourceList into sorted model keys", () => {
    const { resources, errors } = parseResourceList({
      memory: "6903Mi",
      cpu: "1930m",
      pods: "29",
      "nvidia.com/gpu": 1,
      "ephemeral-storage": "20Gi",
      "hugepages-2Mi": "1Gi",
      "vpc.amazonaws.com/pod-eni": "0",
    });
    expect(errors).toEqual([]);
    expect(resources).toEqual({
      cpuMillis: 1930,
      ephemeralBytes: 20 * Gi,
      "hugepages-2Mi": Gi,
      memoryBytes: 6903 * Mi,
      "nvidia.com/gpu": 1,
      pods: 29,
      "vpc.amazonaws.com/pod-eni": 0,
    });
    expect(Object.keys(resources)).toEqual(Object.keys(resources).sort());
  });

  test("reports every bad entry at its path and keeps the good ones", () => {
    const path = ["spec", "containers", 1, "resources", "requests"];
    const { resources, errors } = parseResourceList(
      { cpu: "1.5.5", memory: "1Gi", "nvidia.com/gpu": "-1", "example.com/x": "2", cpuMillis: "5" },
      path,
    );
    expect(resources).toEqual({ "example.com/x": 2, memoryBytes: Gi });
    expect(errors.map((e) => [e.code, e.path])).toEqual([
      ["invalid_quantity", [...path, "cpu"]],
      ["quantity_out_of_range", [...path, "nvidia.com/gpu"]],
      ["invalid_schema", [...path, "cpuMillis"]],
    ]);
    expect(errors[0]?.value).toBe("1.5.5");
  });

  test("a non-quantity value from untyped JSON is invalid_quantity", () => {
    const list = JSON.parse('{"cpu": null, "memory": {"x": 1}, "pods": true}') as Record<string, string>;
    const { resources, errors } = parseResourceList(list, ["limits"]);
    expect(resources).toEqual({});
    expect(errors.map((e) => [e.code, e.path, e.value])).toEqual([
      ["invalid_quantity", ["limits", "cpu"], "null"],
      ["invalid_quantity", ["limits", "memory"], '{"x":1}'],
      ["invalid_quantity", ["limits", "pods"], "true"],
    ]);
  });

  test("undefined is an empty list", () => {
    expect(parseResourceList(undefined, [])).toEqual({ resources: {}, errors: [] });
  });
});

describe("arithmetic", () => {
  const a: Resources = { memoryBytes: 2 * Gi, cpuMillis: 1000 };
  const b: Resources = { "nvidia.com/gpu": 1, cpuMillis: 250 };

  test("add, subtract and max work over the union of keys, with sorted keys", () => {
    const sum = addResources(a, b);
    expect(sum).toEqual({ cpuMillis: 1250, memoryBytes: 2 * Gi, "nvidia.com/gpu": 1 });
    expect(Object.keys(sum)).toEqual(["cpuMillis", "memoryBytes", "nvidia.com/gpu"]);
    expect(subtractResources(b, a)).toEqual({ cpuMillis: -750, memoryBytes: -2 * Gi, "nvidia.com/gpu": 1 });
    expect(maxResources(a, b)).toEqual({ cpuMillis: 1000, memoryBytes: 2 * Gi, "nvidia.com/gpu": 1 });
    expect(a).toEqual({ memoryBytes: 2 * Gi, cpuMillis: 1000 });
  });

  test("scale multiplies and rounds up", () => {
    expect(scaleResources(a, 3)).toEqual({ cpuMillis: 3000, memoryBytes: 6 * Gi });
    expect(scaleResources({ cpuMillis: 5, pods: -1 }, 0.5)).toEqual({ cpuMillis: 3, pods: 0 });
    expect(Object.is(scaleResources({ pods: -1 }, 0.5).pods, 0)).toBe(true);
  });

  test("results are new objects", () => {
    const sum = addResources(a, {});
    expect(sum).toEqual(a);
    expect(sum).not.toBe(a);
    expect(Object.isFrozen(sum)).toBe(false);
  });

  test("isZero and resourceKeys", () => {
    expect(isZero({})).toBe(true);
    expect(isZero({ cpuMillis: 0, "nvidia.com/gpu": 0 })).toBe(true);
    expect(isZero({ cpuMillis: 0, pods: 1 })).toBe(false);
    expect(isZero(subtractResources(a, a))).toBe(true);
    expect(resourceKeys(a, b, { pods: 1 })).toEqual(["cpuMillis", "memoryBytes", "nvidia.com/gpu", "pods"]);
    expect(resourceKeys()).toEqual([]);
  });

  const vector = fc.dictionary(
    fc.constantFrom("cpuMillis", "memoryBytes", "pods", "nvidia.com/gpu", "hugepages-2Mi"),
    fc.integer({ min: -1e12, max: 1e12 }),
  );

  test("laws: add commutes and associates, subtract inverts add, max is an upper bound", () => {
    fc.assert(
      fc.property(vector, vector, vector, (x, y, z) => {
        expect(addResources(x, y)).toEqual(addResources(y, x));
        expect(addResources(addResources(x, y), z)).toEqual(addResources(x, addResources(y, z)));
        const back = subtractResources(addResources(x, y), y);
        for (const key of resourceKeys(x, y)) expect(back[key]).toBe(x[key] ?? 0);
        const upper = maxResources(x, y);
        expect(fits(x, upper)).toBe(true);
        for (const key of resourceKeys(x, y)) {
          expect(upper[key]).toBe(Math.max(x[key] ?? 0, y[key] ?? 0));
        }
        expect(scaleResources(x, 2)).toEqual(addResources(x, x));
      }),
    );
  });
});

describe("fits and exceededResources", () => {
  const node: Resources = { cpuMillis: 4000, memoryBytes: 16 * Gi, pods: 110 };

  test("requests within allocatable fit", () => {
    expect(fits({ cpuMillis: 4000, memoryBytes: 16 * Gi, pods: 1 }, node)).toBe(true);
    expect(exceededResources({ cpuMillis: 4000 }, node)).toEqual([]);
  });

  test("a resource missing from allocatable counts as 0", () => {
    const gpuPod: Resources = { cpuMillis: 100, "nvidia.com/gpu": 1, pods: 1 };
    expect(fits(gpuPod, node)).toBe(false);
    expect(exceededResources(gpuPod, node)).toEqual(["nvidia.com/gpu"]);
    expect(fits(gpuPod, { ...node, "nvidia.com/gpu": 1 })).toBe(true);
  });

  test("zero requests always fit, even against nothing or a negative remainder", () => {
    expect(fits({}, {})).toBe(true);
    expect(fits({ "nvidia.com/gpu": 0, cpuMillis: 0 }, {})).toBe(true);
    expect(fits({ cpuMillis: 0, memoryBytes: Gi }, { cpuMillis: -5, memoryBytes: Gi })).toBe(true);
  });

  test("every exceeded key is listed, sorted", () => {
    expect(
      exceededResources({ pods: 111, cpuMillis: 4001, memoryBytes: Gi, "aws.amazon.com/neuron": 1 }, node),
    ).toEqual(["aws.amazon.com/neuron", "cpuMillis", "pods"]);
  });

  test("fits is exactly the absence of exceeded keys", () => {
    const v = fc.dictionary(fc.constantFrom("cpuMillis", "pods", "x.io/y"), fc.integer({ min: -3, max: 3 }));
    fc.assert(
      fc.property(v, v, (req, alloc) => {
        const exceeded = exceededResources(req, alloc);
        expect(fits(req, alloc)).toBe(exceeded.length === 0);
        for (const key of resourceKeys(req)) {
          const over = (req[key] ?? 0) > 0 && (req[key] ?? 0) > (alloc[key] ?? 0);
          expect(exceeded.includes(key)).toBe(over);
        }
      }),
    );
  });
});

describe("formatResources", () => {
  test("well-known resources first, Kubernetes names and quantities", () => {
    expect(formatResources({ pods: 29, memoryBytes: 6903 * Mi, cpuMillis: 1930 })).toBe(
      "cpu 1930m, memory 6903Mi, pods 29",
    );
    expect(
      formatResources({
        "vpc.amazonaws.com/efa": 1,
        "nvidia.com/gpu": 8,
        "hugepages-2Mi": 512 * Mi,
        ephemeralBytes: 20 * Gi,
        cpuMillis: 2000,
      }),
    ).toBe("cpu 2, ephemeral-storage 20Gi, hugepages-2Mi 512Mi, nvidia.com/gpu 8, vpc.amazonaws.com/efa 1");
    expect(formatResources({ cpuMillis: -250 })).toBe("cpu -250m");
    expect(formatResources({})).toBe("none");
  });
});
