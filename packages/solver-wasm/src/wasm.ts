import { kernelScalarBase64, kernelSimdBase64 } from "./generated/kernel-wasm.ts";
import {
  type EncodedProblem,
  HEADER as H,
  KERNEL_ABI_VERSION,
  type KernelResult,
  wordsFor,
} from "./problem.ts";

/**
 * Loads the inlined WebAssembly kernel and calls it through the raw-pointer boundary: `reset()`, one
 * `alloc()` per region, a header of i32 offsets, one `solve(header)`. Views on `memory.buffer` are made
 * after every call that can grow memory (growth detaches old views). No glue copies per element.
 */

interface KernelExports {
  memory: WebAssembly.Memory;
  reset(): void;
  alloc(bytes: number): number;
  solve(header: number): number;
  abiVersion(): number;
}

const moduleCache = new Map<"simd" | "scalar", WebAssembly.Module>();
let availability: { simd: boolean; scalar: boolean } | undefined;

function bytesOf(flavor: "simd" | "scalar"): Uint8Array {
  return decodeBase64(flavor === "simd" ? kernelSimdBase64 : kernelScalarBase64);
}

/** Which WebAssembly builds this engine can run. */
export function wasmAvailable(): { simd: boolean; scalar: boolean } {
  if (availability === undefined) {
    const has = typeof WebAssembly === "object" && typeof WebAssembly.validate === "function";
    availability = {
      simd: has && WebAssembly.validate(bytesOf("simd") as Uint8Array<ArrayBuffer>),
      scalar: has && WebAssembly.validate(bytesOf("scalar") as Uint8Array<ArrayBuffer>),
    };
  }
  return availability;
}

/** Instantiates a kernel build synchronously. */
export function loadWasmKernel(flavor: "simd" | "scalar"): {
  flavor: "simd" | "scalar";
  solve(p: EncodedProblem): KernelResult;
} {
  let module = moduleCache.get(flavor);
  if (module === undefined) {
    module = new WebAssembly.Module(bytesOf(flavor) as Uint8Array<ArrayBuffer>);
    moduleCache.set(flavor, module);
  }
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  if (exports.abiVersion() !== KERNEL_ABI_VERSION) {
    throw new Error(`kernel ABI ${exports.abiVersion()} does not match the loader's ${KERNEL_ABI_VERSION}`);
  }
  return { flavor, solve: (p) => solveWasm(exports, p) };
}

function solveWasm(k: KernelExports, p: EncodedProblem): KernelResult {
  const R = p.resources;
  const G = p.groups.count;
  const T = p.offerings.count;
  const E = p.existing.count;
  const W = wordsFor(T);
  const maxBins = p.options.maxBins;
  const maxPl = p.options.maxPlacements;
  k.reset();
  // Allocate every region first (allocation may grow memory), then copy through fresh views.
  const inputs: [number, ArrayBufferView & { length: number }][] = [
    [H.groupRequests, p.groups.requests],
    [H.groupCounts, p.groups.counts],
    [H.groupCompat, p.groups.compat],
    [H.groupExistingCompat, p.groups.existingCompat],
    [H.groupClassStart, p.groups.classStart],
    [H.groupClassList, p.groups.classList],
    [H.groupValue, p.groups.value],
    [H.offerAllocatable, p.offerings.allocatable],
    [H.offerCapacity, p.offerings.capacity],
    [H.offerPrice, p.offerings.priceMicros],
    [H.offerPool, p.offerings.pool],
    [H.offerShape, p.offerings.shape],
    [H.poolLimits, p.pools.limits],
    [H.poolUsed, p.pools.used],
    [H.existingRemaining, p.existing.remaining],
    [H.existingClass, p.existing.classCount],
    [H.classCap, p.classes.capPerBin],
    [H.groupClassFlags, p.groups.classFlags],
    [H.classConditional, p.classes.conditional],
    [H.offerCapGroup, p.offerings.capGroup],
    [H.capGroupMaxBins, p.capGroups.maxBins],
  ];
  const header = k.alloc(H.words * 4);
  const pointers = inputs.map(([, a]) => k.alloc(Math.max(8, a.byteLength)));
  const outputs = {
    binOffering: k.alloc(Math.max(8, maxBins * 4)),
    binOptions: k.alloc(Math.max(8, maxBins * W * 4)),
    binPool: k.alloc(Math.max(8, maxBins * 4)),
    placements: k.alloc(Math.max(8, maxPl * 12)),
    unplaced: k.alloc(Math.max(8, G * 4)),
    unplacedReason: k.alloc(Math.max(8, G * 4)),
  };
  const buffer = k.memory.buffer;
  const h = new Int32Array(buffer, header, H.words);
  h.fill(0);
  h[H.abi] = KERNEL_ABI_VERSION;
  h[H.R] = R;
  h[H.G] = G;
  h[H.T] = T;
  h[H.E] = E;
  h[H.P] = p.pools.count;
  h[H.C] = p.classes.count;
  h[H.capGroups] = p.capGroups.count;
  h[H.maxBins] = maxBins;
  h[H.maxPlacements] = maxPl;
  h[H.candidateShapes] = p.options.candidateShapes;
  h[H.improve] = p.options.improve ? 1 : 0;
  inputs.forEach(([slot, array], i) => {
    const ptr = pointers[i] as number;
    h[slot] = ptr;
    new Uint8Array(buffer, ptr, array.byteLength).set(
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    );
  });
  h[H.outBinOffering] = outputs.binOffering;
  h[H.outBinOptions] = outputs.binOptions;
  h[H.outBinPool] = outputs.binPool;
  h[H.outPlacements] = outputs.placements;
  h[H.outUnplaced] = outputs.unplaced;
  h[H.outUnplacedReason] = outputs.unplacedReason;

  const status = k.solve(header);
  const after = k.memory.buffer;
  const hh = new Int32Array(after, header, H.words);
  const unplaced = new Int32Array(after, outputs.unplaced, G).slice();
  const unplacedReason = new Int32Array(after, outputs.unplacedReason, G).slice();
  if (status < 0) {
    return {
      status,
      newBins: 0,
      binOffering: new Int32Array(0),
      binOptions: new Uint32Array(0),
      binPool: new Int32Array(0),
      placements: new Int32Array(0),
      unplaced,
      unplacedReason,
    };
  }
  const newBins = hh[H.outNewBins] as number;
  const placementCount = hh[H.outPlacementCount] as number;
  return {
    status,
    newBins,
    binOffering: new Int32Array(after, outputs.binOffering, newBins).slice(),
    binOptions: new Uint32Array(after, outputs.binOptions, newBins * W).slice(),
    binPool: new Int32Array(after, outputs.binPool, newBins).slice(),
    placements: new Int32Array(after, outputs.placements, placementCount * 3).slice(),
    unplaced,
    unplacedReason,
  };
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const lookup = new Uint8Array(128);
for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;

/** Decodes base64 without Buffer or atob, so it runs in any engine. */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const a = lookup[clean.charCodeAt(i)] as number;
    const b = lookup[clean.charCodeAt(i + 1)] as number;
    const c = lookup[clean.charCodeAt(i + 2)] ?? 0;
    const d = lookup[clean.charCodeAt(i + 3)] ?? 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
