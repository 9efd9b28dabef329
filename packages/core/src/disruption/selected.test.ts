import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deepFreeze } from "../frozen.ts";
import type { LabelSelector, Pod } from "../model.ts";
import { labelSelectorKey, matchesLabelSelector } from "../selectors.ts";
import { pod } from "./fixtures.test-helper.ts";
import { boundSelected } from "./selected.ts";
import { clusterView } from "./state.ts";

const SELECTORS: LabelSelector[] = [
  { matchLabels: { app: "a" }, matchExpressions: [] },
  { matchLabels: {}, matchExpressions: [{ key: "app", operator: "In", values: ["a", "b"] }] },
  { matchLabels: { tier: "web" }, matchExpressions: [{ key: "app", operator: "NotIn", values: ["c"] }] },
  { matchLabels: {}, matchExpressions: [{ key: "tier", operator: "DoesNotExist", values: [] }] },
  { matchLabels: {}, matchExpressions: [] },
];

const arbLabels = fc.record(
  { app: fc.constantFrom("a", "b", "c"), tier: fc.constantFrom("web", "db") },
  { requiredKeys: [] },
);

describe("boundSelected", () => {
  test("finds the bound pods a selector selects, view after view of a changing pod list", () => {
    let selected = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ labels: arbLabels, bound: fc.boolean(), frozen: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        // Each later view: replace, remove, add or relabel (in place, when not frozen) pods at positions.
        fc.array(
          fc.array(
            fc.record({
              at: fc.nat(),
              op: fc.constantFrom("replace", "remove", "add", "relabel"),
              labels: arbLabels,
              bound: fc.boolean(),
              frozen: fc.boolean(),
            }),
            { maxLength: 12 },
          ),
          { minLength: 1, maxLength: 5 },
        ),
        (first, changes) => {
          let n = 0;
          const make = (x: { labels: Record<string, string>; bound: boolean; frozen: boolean }): Pod => {
            const p = pod(x.bound ? `node-${n % 3}` : undefined, 100, {
              name: `p${n++}`,
              labels: { ...x.labels },
            });
            return x.frozen ? deepFreeze(p) : p;
          };
          let pods = first.map(make);
          for (const step of [[], ...changes]) {
            pods = pods.slice();
            for (const c of step) {
              const i = c.at % (pods.length + 1);
              if (c.op === "add" || pods.length === 0) pods.splice(i, 0, make(c));
              else if (c.op === "remove") pods.splice(i % pods.length, 1);
              else if (c.op === "relabel" && !Object.isFrozen(pods[i % pods.length]))
                // A caller that does not freeze may change a pod in place between views.
                Object.assign((pods[i % pods.length] as Pod).labels, c.labels);
              else pods[i % pods.length] = make(c);
            }
            const view = clusterView([], pods);
            for (const s of SELECTORS) {
              const want: number[] = [];
              pods.forEach((p, i) => {
                if (p.nodeName !== undefined && matchesLabelSelector(s, p.labels)) want.push(i);
              });
              expect(boundSelected(view, s, labelSelectorKey(s))).toEqual(want);
              selected += want.length;
            }
          }
        },
      ),
      { numRuns: 200, seed: 77 },
    );
    expect(selected).toBeGreaterThan(1000);
  });
});
