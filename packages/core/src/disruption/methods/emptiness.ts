import { cmp } from "../../compare.ts";
import type { Node } from "../../model.ts";
import { rescheduleCost } from "../candidates.ts";
import type { Proposal, WaveSession } from "../session.ts";
import type { Method } from "./method.ts";

/**
 * Emptiness (Karpenter disruption/emptiness.go): every consolidatable candidate with no reschedulable
 * pods, within each NodePool's Empty budget, deleted by one command across NodePools. Nodes are taken
 * in Karpenter's order (price / RescheduleCost, descending), so a budget keeps the dearest.
 */
export function emptiness(): Method {
  return {
    name: "emptiness",
    propose(s: WaveSession): Proposal | undefined {
      const empty: Node[] = [];
      for (const nodes of s.candidatesByPool().values())
        for (const n of nodes) {
          if (!s.isEmpty(n)) continue;
          const blocked = s.consolidationBlocker(n);
          if (blocked === undefined) empty.push(n);
          else s.run.verdicts.set(n.name, blocked);
        }
      const chosen = s.admit(bySavingsRatio(s, empty), "Empty");
      if (chosen.length === 0) return undefined;
      return {
        method: "emptiness",
        reason: `${chosen.length} empty node${chosen.length === 1 ? "" : "s"} (no reschedulable pods): delete`,
        candidates: chosen,
        sim: s.simulate(chosen),
        replacements: [],
      };
    },
  };
}

/** Karpenter's candidate order (core v1.14 SavingsRatio): price / RescheduleCost descending, then name. */
export function bySavingsRatio(s: WaveSession, nodes: readonly Node[]): Node[] {
  return nodes
    .map((n) => ({ n, score: s.run.price(n) / rescheduleCost(s.ctx.podsByNode.get(n.name) ?? []) }))
    .sort((a, b) => b.score - a.score || cmp(a.n.name, b.n.name))
    .map((x) => x.n);
}
