import { describe } from "../graph.ts";
import { pointer } from "../json-patch.ts";
import type { Draft, Rule } from "../rule.ts";

/** The annotation prefix that exempts an object from a rule: `nodeplan.io/ignore-<rule>: "<why>"`. */
export const EXEMPTION_PREFIX = "nodeplan.io/ignore-";

/** The closest rule id to a misspelt one (edit distance), when it is close. */
function closest(id: string, ids: ReadonlySet<string>): string | undefined {
  let best: { id: string; d: number } | undefined;
  for (const candidate of [...ids].sort()) {
    const a = id;
    const b = candidate;
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0] as number;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(
          (row[j] as number) + 1,
          (row[j - 1] as number) + 1,
          prev + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
        prev = row[j] as number;
        row[j] = next;
      }
    }
    const d = row[b.length] as number;
    if (best === undefined || d < best.d) best = { id: candidate, d };
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(id.length / 4)) ? best.id : undefined;
}

export const exemptionWithoutReason: Rule = {
  id: "exemption-without-reason",
  severity: "warning",
  title: "An exemption annotation without a reason, or for a rule that does not exist",
  why: 'An exemption is a decision someone made; nodeplan.io/ignore-<rule>: "<why>" records why, for the next person. An empty reason does not exempt (the finding stays), and an exemption for an unknown rule id (a typo) exempts nothing.',
  docs: "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/",
  check({ graph, ruleIds }) {
    const drafts: Draft[] = [];
    for (const o of graph.objects) {
      for (const [key, value] of Object.entries(o.annotations).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      )) {
        if (!key.startsWith(EXEMPTION_PREFIX)) continue;
        const rule = key.slice(EXEMPTION_PREFIX.length);
        const unknown = !ruleIds.has(rule);
        if (!unknown && value.trim() !== "") continue;
        const suggestion = unknown ? closest(rule, ruleIds) : undefined;
        drafts.push({
          message: unknown
            ? `${describe(o)} is exempted from "${rule}", which is not a rule${suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`}: it exempts nothing`
            : `${describe(o)} is exempted from ${rule} without a reason: the exemption is not applied until it says why`,
          objects: [{ obj: o, path: ["metadata", "annotations", key] }],
          fix:
            unknown && suggestion !== undefined
              ? {
                  description: `name the rule ${suggestion}`,
                  patch: [
                    {
                      op: "move",
                      from: pointer(["metadata", "annotations", key]),
                      path: pointer(["metadata", "annotations", `${EXEMPTION_PREFIX}${suggestion}`]),
                    },
                  ],
                }
              : {
                  description: unknown
                    ? "remove the annotation (it exempts nothing)"
                    : "remove the annotation, or write why the rule does not apply as its value",
                  patch: [{ op: "remove", path: pointer(["metadata", "annotations", key]) }],
                },
        });
      }
    }
    return drafts;
  },
};
