import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { toPlainYaml, writeJson, writeYaml } from "./stream-output.ts";

const collect = (f: (write: (s: string) => void) => void) => {
  const chunks: string[] = [];
  f((s) => chunks.push(s));
  return chunks;
};

describe("output in pieces", () => {
  it("property: writeJson prints exactly JSON.stringify(v, null, 2) and a newline", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(collect((w) => writeJson(v, w)).join("")).toBe(`${JSON.stringify(v, null, 2)}\n`);
      }),
    );
  });

  it("a plan too large for one string still prints, in bounded chunks; nesting needs no recursion", () => {
    const placements = Array.from({ length: 300_000 }, (_, i) => ({
      pod: `default/web-${i}`,
      node: `general-${i >> 6}`,
    }));
    const chunks = collect((w) => writeJson({ placements }, w));
    expect(Math.max(...chunks.slice(0, 100).map((c) => c.length))).toBeLessThan(70_000);
    expect(JSON.parse(chunks.join("")).placements).toHaveLength(300_000);
    let deep: unknown = 0;
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(collect((w) => writeJson(deep, w)).join("").length).toBeGreaterThan(5000 * 5000);
  });

  it("YAML without anchors: a shared object is printed twice; long arrays in pieces parse back", () => {
    const shared = { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] };
    const text = toPlainYaml({ a: [shared], b: [shared] });
    expect(text).not.toMatch(/[&*]a\d/);
    const items = Array.from({ length: 5000 }, (_, i) => ({ pod: `p-${i}`, requirements: [shared] }));
    const yaml = collect((w) => writeYaml({ items, cost: { newPerHour: 1 } }, w)).join("");
    expect(yaml).not.toMatch(/[&*]a\d/);
    expect(parse(yaml)).toEqual({ items, cost: { newPerHour: 1 } });
  });
});
