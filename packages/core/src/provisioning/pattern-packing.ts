import type { EncodedProblem, Kernel, KernelResult } from "@nodeplan/solver-wasm";
import type { Encoding } from "./encode.ts";
import type { PatternSolution } from "./patterns.ts";

/**
 * Packs the pods the kernel put on new nodes again, guided by the pattern LP: each pattern in the LP
 * solution, rounded down, becomes that many nodes holding exactly its pods (full by construction); the
 * kernel packs what is left. With `integral`, the patterns are the solution's integer cover (small
 * instances, where every LP count is a fraction); copies beyond the pods left are clipped and shrink
 * to the cheapest offering that holds them. Returns a kernel-shaped result (existing-node placements unchanged) or
 * undefined when the guided packing does not apply or leaves a pod unplaced. The caller keeps whichever
 * plan is cheaper, so this can only lower the cost.
 *
 * Applies when every new node is in one NodePool without limits and no per-node class caps or launch
 * caps are in play: the pattern LP knows none of them.
 */
export function packByPatterns(
  kernel: Kernel,
  enc: Encoding,
  first: KernelResult,
  onNew: Int32Array,
  solution: PatternSolution,
  solve: (kernel: Kernel, problem: EncodedProblem) => KernelResult,
  integral = false,
): KernelResult | undefined {
  const p = enc.problem;
  const R = p.resources;
  const G = p.groups.count;
  const T = p.offerings.count;
  const E = p.existing.count;
  const W = (T + 31) >>> 5;
  if (first.newBins === 0 || p.classes.count > 0 || p.capGroups.count > 0) return undefined;
  const pool = first.binPool[0] as number;
  for (let b = 0; b < first.newBins; b++) if (first.binPool[b] !== pool) return undefined;
  for (let j = 0; j <= R; j++)
    if (Number.isFinite(p.pools.limits[pool * (R + 1) + j] as number)) return undefined;

  const left = Int32Array.from(onNew);
  // Bins to open: whole copies of each pattern, clipped to the pods left (the last copies may be lighter).
  const chosen = integral ? solution.integral : solution.patterns;
  if (chosen === undefined) return undefined;
  const patterns = [...chosen].sort((a, b) => b.x - a.x || a.offering - b.offering);
  const bins: { load: Int32Array; options: Uint32Array; copies: number }[] = [];
  const optionsByLoad = new Map<string, Uint32Array>();
  for (const pattern of patterns) {
    let copies = Math.floor(pattern.x + 1e-9);
    while (copies > 0) {
      // As many identical copies as every group of the pattern still has pods for.
      const load = new Int32Array(G);
      let whole = copies;
      let any = false;
      for (let g = 0; g < G; g++) {
        const want = pattern.counts[g] as number;
        if (want === 0) continue;
        const have = left[g] as number;
        whole = Math.min(whole, Math.floor(have / want));
        load[g] = Math.min(want, have);
        if ((load[g] as number) > 0) any = true;
      }
      if (!any) break;
      const n = Math.max(1, whole);
      const key = load.join(",");
      let options = optionsByLoad.get(key);
      if (options === undefined) {
        options = optionSet(p, load, pool, W);
        optionsByLoad.set(key, options);
      }
      if (firstBit(options) < 0) break;
      for (let g = 0; g < G; g++) left[g] = (left[g] as number) - n * (load[g] as number);
      bins.push({ load, options, copies: n });
      copies -= n;
    }
  }
  if (bins.length === 0) return undefined;
  let P = 0;
  let triples = 0;
  for (const b of bins) {
    P += b.copies;
    for (let g = 0; g < G; g++) if ((b.load[g] as number) > 0) triples += b.copies;
  }
  // The rest: the kernel on the leftover pods, new nodes only (existing room was used by the first pass).
  const rest: EncodedProblem = {
    ...p,
    groups: { ...p.groups, counts: left, existingCompat: new Uint32Array(0) },
    existing: { count: 0, remaining: new Float64Array(0), classCount: new Int32Array(0) },
    options: { ...p.options },
  };
  let remaining = 0;
  for (let g = 0; g < G; g++) remaining += left[g] as number;
  const extra = remaining > 0 ? solve(kernel, rest) : undefined;
  if (extra !== undefined)
    for (let g = 0; g < G; g++) if ((extra.unplaced[g] as number) > 0) return undefined;

  const kept: number[] = [];
  for (let i = 0; i < first.placements.length; i += 3)
    if ((first.placements[i + 1] as number) < E) kept.push(i);
  const extraBins = extra?.newBins ?? 0;
  const extraTriples = extra === undefined ? 0 : extra.placements.length / 3;
  const newBins = P + extraBins;
  const binOffering = new Int32Array(newBins);
  const binOptions = new Uint32Array(newBins * W);
  const placements = new Int32Array((kept.length + triples + extraTriples) * 3);
  let at = 0;
  const place = (g: number, bin: number, n: number) => {
    placements[at++] = g;
    placements[at++] = bin;
    placements[at++] = n;
  };
  for (const i of kept)
    place(
      first.placements[i] as number,
      first.placements[i + 1] as number,
      first.placements[i + 2] as number,
    );
  let b = 0;
  for (const bin of bins) {
    const cheapest = firstBit(bin.options);
    for (let c = 0; c < bin.copies; c++, b++) {
      binOffering[b] = cheapest;
      binOptions.set(bin.options, b * W);
      for (let g = 0; g < G; g++) if ((bin.load[g] as number) > 0) place(g, E + b, bin.load[g] as number);
    }
  }
  if (extra !== undefined) {
    for (let i = 0; i < extra.placements.length; i += 3)
      place(
        extra.placements[i] as number,
        E + P + (extra.placements[i + 1] as number),
        extra.placements[i + 2] as number,
      );
    binOffering.set(extra.binOffering.subarray(0, extraBins), P);
    binOptions.set(extra.binOptions.subarray(0, extraBins * W), P * W);
  }
  return {
    status: newBins,
    newBins,
    binOffering,
    binOptions,
    binPool: new Int32Array(newBins).fill(pool),
    placements,
    unplaced: first.unplaced,
    unplacedReason: first.unplacedReason,
  };
}

/** Total price (micro-dollars per hour) of a result's new nodes. */
export function newBinsCost(problem: EncodedProblem, result: KernelResult): number {
  let total = 0;
  for (let b = 0; b < result.newBins; b++)
    total += problem.offerings.priceMicros[result.binOffering[b] as number] as number;
  return total;
}

/** Offerings of `pool` every group of the load may use and the whole load fits on. */
function optionSet(p: EncodedProblem, load: Int32Array, pool: number, W: number): Uint32Array {
  const R = p.resources;
  const G = p.groups.count;
  const T = p.offerings.count;
  const sum = new Float64Array(R);
  for (let g = 0; g < G; g++) {
    const n = load[g] as number;
    if (n === 0) continue;
    for (let r = 0; r < R; r++) sum[r] = (sum[r] as number) + n * (p.groups.requests[g * R + r] as number);
  }
  const out = new Uint32Array(W);
  for (let t = 0; t < T; t++) {
    if (p.offerings.pool[t] !== pool) continue;
    let ok = true;
    for (let r = 0; r < R && ok; r++)
      if ((sum[r] as number) > (p.offerings.allocatable[t * R + r] as number)) ok = false;
    for (let g = 0; g < G && ok; g++) {
      if ((load[g] as number) === 0) continue;
      if (((p.groups.compat[g * W + (t >>> 5)] as number) & (1 << (t & 31))) === 0) ok = false;
    }
    if (ok) out[t >>> 5] = ((out[t >>> 5] as number) | (1 << (t & 31))) >>> 0;
  }
  return out;
}

function firstBit(words: Uint32Array): number {
  for (let w = 0; w < words.length; w++) {
    const word = words[w] as number;
    if (word !== 0) return w * 32 + (31 - Math.clz32(word & -word));
  }
  return -1;
}
