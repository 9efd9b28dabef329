// Times the simd, scalar and reference kernels on synthetic problems of production size and prints
// medians, plus a rough quality signal (price of the new bins over the value of the pods placed).
// Not a unit test: timings depend on the machine. Run from the repository root:
//   node --conditions=@nodeplan/source packages/solver-wasm/scripts/measure.ts
import {
  createKernel,
  type EncodedProblem,
  encodedProblem,
  type Kernel,
  type KernelResult,
  wordsFor,
} from "../src/index.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Deterministic LCG in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * 1,345 instance types x 3 zones (same on-demand price in every zone, so 1,345 shapes): memory per
 * vCPU in the c/m/r/x ratios (2, 4, 8, 16 GiB), sizes 1..192 vCPUs, generations priced +-20%.
 */
function offerings(rand: () => number): {
  allocatable: number[][];
  capacity: number[][];
  priceMicros: number[];
} {
  const ratiosGiB = [2, 4, 8, 16];
  const sizesVcpu = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192];
  const types: { capacity: number[]; allocatable: number[]; priceMicros: number }[] = [];
  for (let i = 0; types.length < 1345; i++) {
    const ratio = ratiosGiB[i % ratiosGiB.length] as number;
    const vcpu = sizesVcpu[Math.floor(i / ratiosGiB.length) % sizesVcpu.length] as number;
    const memoryGiB = vcpu * ratio;
    const pods = vcpu <= 2 ? 29 : vcpu <= 8 ? 58 : 110;
    // Karpenter-like overhead: a slice of cpu and memory reserved for the kubelet and DaemonSets.
    const cpuMillis = vcpu * 1000 - (vcpu <= 4 ? 80 : 60 + vcpu * 5);
    const memoryBytes = memoryGiB * GIB - (255 + 11 * pods) * MIB - 0.075 * memoryGiB * GIB;
    const pricePerHour = (vcpu * 0.0255 + memoryGiB * 0.0034) * (0.8 + 0.4 * rand());
    types.push({
      capacity: [vcpu * 1000, memoryGiB * GIB, pods],
      allocatable: [cpuMillis, Math.floor(memoryBytes), pods],
      priceMicros: Math.round(pricePerHour * 1e6),
    });
  }
  const out = { allocatable: [] as number[][], capacity: [] as number[][], priceMicros: [] as number[] };
  for (const type of types) {
    for (let zone = 0; zone < 3; zone++) {
      out.allocatable.push(type.allocatable);
      out.capacity.push(type.capacity);
      out.priceMicros.push(type.priceMicros);
    }
  }
  return out;
}

/** G groups with the given count rule against the synthetic catalog, one pool without limits. */
function problem(G: number, count: (rand: () => number) => number): EncodedProblem {
  const rand = random(7);
  const o = offerings(rand);
  const R = 3;
  const T = o.priceMicros.length;
  const W = wordsFor(T);
  const cpuMillis = [100, 250, 500, 1000, 1500];
  const memoryMiB = [100, 256, 512, 1024, 2048, 4096];
  const requests = new Float64Array(G * R);
  const counts = new Int32Array(G);
  for (let g = 0; g < G; g++) {
    requests[g * R] = cpuMillis[Math.floor(rand() * cpuMillis.length)] as number;
    requests[g * R + 1] = (memoryMiB[Math.floor(rand() * memoryMiB.length)] as number) * MIB;
    requests[g * R + 2] = 1;
    counts[g] = count(rand);
  }
  const compat = new Uint32Array(G * W).fill(0xffffffff);
  const shape = new Int32Array(T);
  for (let t = 0; t < T; t++) shape[t] = t - (t % 3);
  return encodedProblem({
    resources: R,
    groups: { requests, counts, compat },
    offerings: {
      allocatable: Float64Array.from(o.allocatable.flat()),
      capacity: Float64Array.from(o.capacity.flat()),
      priceMicros: Float64Array.from(o.priceMicros),
      shape,
    },
    options: { maxBins: 60_000, maxPlacements: 400_000, candidateShapes: 16, improve: true },
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(run: () => void, runs: number): number {
  run();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

/** Price of the new bins over the value of every pod (defaultGroupValues): 1.0 = market rate. */
function quality(p: EncodedProblem, r: KernelResult): string {
  let priceMicros = 0;
  for (const t of r.binOffering) priceMicros += p.offerings.priceMicros[t] as number;
  let valueMicros = 0;
  let unplaced = 0;
  for (let g = 0; g < p.groups.count; g++) {
    valueMicros += (p.groups.counts[g] as number) * (p.groups.value[g] as number);
    unplaced += r.unplaced[g] as number;
  }
  return `${r.newBins} bins, $${(priceMicros / 1e6).toFixed(2)}/h, cost/value ${(priceMicros / valueMicros).toFixed(3)}, ${unplaced} unplaced`;
}

const flavors = ["simd", "scalar", "reference"] as const;
const kernels = flavors.map((flavor) => createKernel({ flavor }));
const cases: { name: string; p: EncodedProblem; runs: number }[] = [
  {
    name: "G=2000 (counts 1..20), T=4035",
    p: problem(2000, (rand) => 1 + Math.floor(rand() * 20)),
    runs: 15,
  },
  { name: "G=210 x 476 pods (100k), T=4035", p: problem(210, () => 476), runs: 15 },
];
// Fixed cost per call: one pod against the same catalog and output capacities (copying the
// offerings in, sizing per-bin state by maxBins and maxPlacements, copying results out).
{
  const p = problem(1, () => 1);
  const row = kernels.map((k) => time(() => k.solve(p), 15).toFixed(2));
  console.log(
    `fixed cost per call (1 pod, T=4035): simd ${row[0]} ms, scalar ${row[1]} ms, reference ${row[2]} ms`,
  );
}
for (const { name, p, runs } of cases) {
  let pods = 0;
  for (const n of p.groups.counts) pods += n;
  console.log(`\n${name}: ${pods} pods`);
  for (const improve of [false, true]) {
    const q = { ...p, options: { ...p.options, improve } };
    const row = kernels.map((k) => time(() => k.solve(q), runs));
    const [simd, scalar, reference] = row as [number, number, number];
    console.log(
      `  improve=${improve}: simd ${simd.toFixed(2)} ms, scalar ${scalar.toFixed(2)} ms, reference ${reference.toFixed(2)} ms` +
        ` (reference/simd ${(reference / simd).toFixed(2)}x); ${quality(q, (kernels[0] as Kernel).solve(q))}`,
    );
  }
  for (const candidateShapes of [1, 4, 64]) {
    const q = { ...p, options: { ...p.options, candidateShapes } };
    const simd = time(() => (kernels[0] as Kernel).solve(q), Math.max(3, Math.floor(runs / 3)));
    console.log(
      `  candidateShapes=${candidateShapes}: simd ${simd.toFixed(2)} ms; ${quality(q, (kernels[0] as Kernel).solve(q))}`,
    );
  }
}
