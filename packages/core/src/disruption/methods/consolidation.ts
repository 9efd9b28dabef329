import { cmp } from "../../compare.ts";
import type { Node } from "../../model.ts";
import type { KeptReason } from "../../reasons.ts";
import { type LaunchVerdict, launchable } from "../replacements.ts";
import type { Proposal, WaveSession } from "../session.ts";
import { hasPreferences, type Simulation, wouldNotFit } from "../simulate.ts";
import type { Method } from "./method.ts";

/** Sets tried per NodePool and wave: the budget's worth of candidates, then half and a quarter of it. */
const PREFIX_TRIES = 3;
/** Single nodes simulated after the prefixes, when no prefix works (those proven hopeless are not counted). */
const SINGLE_ATTEMPTS = 24;

/** A set of candidates the command would remove, and what it would launch. */
interface Found {
  nodes: Node[];
  sim: Simulation;
  replacements: Proposal["replacements"];
  savingsPerHour: number;
}

/**
 * nodeplan's consolidation: N->M, chosen by the packing kernel. Per NodePool, the candidates its
 * Underutilized budget lets go now are taken in order of the money they waste (price x unused share,
 * dearest first); the kernel re-packs the pods of that whole set, of half of it and of a quarter onto
 * the rest of the cluster and new claims, and the set that saves most, counting each replacement at
 * its worst launch price, is the command. Every command pays for itself given the ones before it, so
 * carrying out any prefix of a plan never raises cost; what the budget does not allow now is left for
 * later waves (and later passes of a controller), which start from the cluster this command leaves.
 */
export function consolidateNodeplan(): Method {
  return {
    name: "consolidation",
    propose(s: WaveSession): Proposal | undefined {
      for (const [pool, nodes] of s.candidatesByPool()) {
        if (s.isExhausted("consolidation", pool)) continue;
        const found = searchPool(s, nodes);
        if (found !== undefined) {
          const n = found.nodes.length;
          const m = found.replacements.length;
          return {
            method: "consolidation",
            reason: `${n}->${m}: ${m === 0 ? "pods move to remaining nodes" : `replace with ${m} node${m === 1 ? "" : "s"}`}`,
            candidates: found.nodes,
            sim: found.sim,
            replacements: found.replacements,
          };
        }
        s.markExhausted("consolidation", pool);
      }
      return undefined;
    },
  };
}

function searchPool(s: WaveSession, nodes: readonly Node[]): Found | undefined {
  const open: Node[] = [];
  for (const n of nodes) {
    if (s.isEmpty(n)) continue;
    const blocked = s.consolidationBlocker(n);
    if (blocked === undefined) open.push(n);
    else s.run.verdicts.set(n.name, blocked);
  }
  const ordered = byWaste(s, open);
  const admitted = s.admit(ordered, "Underutilized");
  if (admitted.length === 0) return undefined;
  let best: Found | undefined;
  const tried = new Set<number>();
  for (let k = admitted.length, i = 0; k >= 1 && i < PREFIX_TRIES; k = Math.floor(k / 2), i++) {
    tried.add(k);
    const set = admitted.slice(0, k);
    const found = attempt(s, set);
    if ("kept" in found) {
      // Smaller sets are tried later: each node ends with the verdict of the smallest set it was in.
      for (const n of set) s.run.verdicts.set(n.name, found.kept);
      continue;
    }
    // Sets are tried largest first: on a tie the smaller set wins (less churn for the same saving).
    // Once a smaller set saves less, the next, smaller still, is not tried.
    if (best !== undefined && found.savingsPerHour < best.savingsPerHour - 1e-9) break;
    best = found;
    // Deleting a set outright saves all it costs: no subset of it can save more.
    if (found.replacements.length === 0) break;
  }
  if (best !== undefined) return best;
  // No set worked: single nodes, each within the budget on its own, those that might pay alone first
  // (most to gain), the first that does. A node proven unable to pay alone is not simulated.
  const tryAlone = tried.has(1) ? new Set([admitted[0]]) : new Set<Node | undefined>();
  let attempts = 0;
  for (const n of s.admit(ordered, "Underutilized", { alone: true })) {
    if (tryAlone.has(n)) continue;
    const hopeless = s.cannotPayAlone(n);
    if (hopeless !== undefined) {
      s.run.verdicts.set(n.name, hopeless);
      continue;
    }
    if (attempts++ >= SINGLE_ATTEMPTS) break;
    const found = attempt(s, [n]);
    if (!("kept" in found)) return found;
    s.run.verdicts.set(n.name, found.kept);
  }
  return undefined;
}

/**
 * Simulates removing `nodes`; the command if it pays for itself at the worst launch price. What the
 * spot-to-spot gate refuses whatever the simulation finds is not simulated (`WaveSession.spotGate`). When
 * their pods state preferences, a simulation without them screens first: what cannot pay without them
 * cannot pay with them (see `SimulateOptions.preferences`), and most attempts of a search do not pay.
 */
function attempt(s: WaveSession, nodes: Node[]): Found | { kept: KeptReason } {
  const refused = s.spotGate(nodes);
  if (refused !== undefined) return { kept: refused };
  if (nodes.some((n) => s.reschedulable(n).some(hasPreferences))) {
    const screen = verdictOf(s, s.simulate(nodes, "search", { preferences: false }));
    if (!screen.ok) return { kept: screen.kept };
  }
  const sim = s.simulate(nodes);
  const verdict = verdictOf(s, sim);
  if (!verdict.ok) return { kept: verdict.kept };
  const added = verdict.claims.reduce((x, c) => x + c.pricePerHour, 0);
  return { nodes, sim, replacements: verdict.claims, savingsPerHour: sim.removedPerHour - added };
}

/** Whether a simulated removal places every evicted pod and pays at the worst launch price. */
function verdictOf(s: WaveSession, sim: Simulation): LaunchVerdict {
  if (sim.unschedulable.length > 0) return { ok: false, kept: wouldNotFit(sim) };
  return launchable(s.run.catalog, s.run.pools, sim, {
    thresholdPerHour: s.run.thresholdPerHour(sim.removedPerHour),
    spotToSpot: s.run.spotToSpot,
  });
}

/**
 * Candidates by the money they waste, dearest first: price x (1 - the larger of their cpu and memory
 * requests over allocatable). A large node mostly idle frees the most for the least to move.
 */
function byWaste(s: WaveSession, nodes: readonly Node[]): Node[] {
  return nodes
    .map((n) => {
      let cpu = 0;
      let mem = 0;
      for (const p of s.reschedulable(n)) {
        cpu += p.requests.cpuMillis ?? 0;
        mem += p.requests.memoryBytes ?? 0;
      }
      const used = Math.max(
        cpu / Math.max(1, n.allocatable.cpuMillis ?? 0),
        mem / Math.max(1, n.allocatable.memoryBytes ?? 0),
      );
      return { n, waste: s.run.price(n) * (1 - Math.min(1, used)) };
    })
    .sort((a, b) => b.waste - a.waste || cmp(a.n.name, b.n.name))
    .map((x) => x.n);
}
