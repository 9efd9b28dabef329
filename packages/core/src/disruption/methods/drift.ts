import type { Node, NodePool } from "../../model.ts";
import { driftReason } from "../drift.ts";
import { launchAnyPrice } from "../replacements.ts";
import type { Proposal, WaveSession } from "../session.ts";
import { type Simulation, wouldNotFit } from "../simulate.ts";
import type { Method } from "./method.ts";

/** A drifted candidate and why. */
interface Drifted {
  node: Node;
  why: string;
}

/** Drifted graceful candidates of each NodePool (pools in name order). */
function drifted(s: WaveSession): Map<string, Drifted[]> {
  const out = new Map<string, Drifted[]>();
  for (const [pool, nodes] of s.candidatesByPool()) {
    const np = s.run.pools.get(pool) as NodePool;
    const list: Drifted[] = [];
    for (const n of nodes) {
      const d = driftReason(n, np, s.run.catalog.full.get(pool) ?? new Map(), s.run.input.drift);
      if (d !== undefined) list.push({ node: n, why: `${d.code}: ${d.message}` });
    }
    if (list.length > 0) out.set(pool, list);
  }
  return out;
}

function proposal(s: WaveSession, chosen: readonly Drifted[], sim: Simulation): Proposal {
  return {
    method: "drift",
    reason: chosen.map((d) => `${d.node.name}: ${d.why}`).join("; "),
    candidates: chosen.map((d) => d.node),
    sim,
    // Drift replaces whatever it costs (eventual disruption); the reason says when it costs more.
    replacements: launchAnyPrice(s.run.catalog, s.run.pools, sim),
  };
}

/**
 * nodeplan's drift: per NodePool, as many drifted nodes as its Drifted budget allows, replaced
 * together: the largest prefix (empty nodes first) whose pods all find a home.
 */
export function driftTogether(): Method {
  return {
    name: "drift",
    propose(s: WaveSession): Proposal | undefined {
      for (const [pool, list] of drifted(s)) {
        if (s.isExhausted("drift", pool)) continue;
        const ordered = [...list.filter((d) => s.isEmpty(d.node)), ...list.filter((d) => !s.isEmpty(d.node))];
        const admitted = new Set(
          s.admit(
            ordered.map((d) => d.node),
            "Drifted",
          ),
        );
        const open = ordered.filter((d) => admitted.has(d.node));
        let lo = 1;
        let hi = open.length;
        let found: { chosen: Drifted[]; sim: Simulation } | undefined;
        while (lo <= hi) {
          // The whole set first: usually it fits, and then one simulation is enough.
          const mid = found === undefined && hi === open.length ? hi : (lo + hi) >> 1;
          const chosen = open.slice(0, mid);
          const sim = s.simulate(chosen.map((d) => d.node));
          if (sim.unschedulable.length === 0) {
            found = { chosen, sim };
            lo = mid + 1;
          } else {
            if (mid === 1) s.run.verdicts.set((chosen[0] as Drifted).node.name, wouldNotFit(sim));
            hi = mid - 1;
          }
        }
        s.markExhausted("drift", pool);
        if (found !== undefined) return proposal(s, found.chosen, found.sim);
      }
      return undefined;
    },
  };
}

/**
 * Karpenter's drift (disruption/drift.go): one drifted candidate per command, empty ones first, the
 * first whose pods all fit, within its NodePool's Drifted budget.
 */
export function driftOneByOne(): Method {
  return {
    name: "drift",
    propose(s: WaveSession): Proposal | undefined {
      const all = [...drifted(s).values()].flat();
      const ordered = [...all.filter((d) => s.isEmpty(d.node)), ...all.filter((d) => !s.isEmpty(d.node))];
      const byNode = new Map(ordered.map((d) => [d.node, d]));
      for (const n of s.admit(
        ordered.map((d) => d.node),
        "Drifted",
        { alone: true },
      )) {
        const sim = s.simulate([n]);
        if (sim.unschedulable.length > 0) {
          s.run.verdicts.set(n.name, wouldNotFit(sim));
          continue;
        }
        return proposal(s, [byNode.get(n) as Drifted], sim);
      }
      return undefined;
    },
  };
}
