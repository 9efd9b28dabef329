import type { EncodedProblem, KernelResult } from "./problem.ts";
import { solveReference } from "./reference.ts";
import { loadWasmKernel, wasmAvailable } from "./wasm.ts";

/** Which implementation runs. */
export type KernelFlavor = "simd" | "scalar" | "reference";

/** Options of `createKernel`. */
export interface KernelOptions {
  /** `auto` (default): SIMD when the engine validates it, else scalar, else the TS reference. */
  flavor?: "auto" | KernelFlavor;
}

/** A loaded kernel: one synchronous call per solve. */
export interface Kernel {
  readonly flavor: KernelFlavor;
  solve(problem: EncodedProblem): KernelResult;
}

/** Loads a kernel synchronously from the inlined module (no fetch, no top-level await). */
export function createKernel(options: KernelOptions = {}): Kernel {
  const wanted = options.flavor ?? "auto";
  if (wanted === "reference") return { flavor: "reference", solve: solveReference };
  const available = wasmAvailable();
  if (wanted === "auto") {
    if (available.simd) return loadWasmKernel("simd");
    if (available.scalar) return loadWasmKernel("scalar");
    return { flavor: "reference", solve: solveReference };
  }
  if (!available[wanted]) throw new Error(`the ${wanted} WebAssembly kernel cannot run on this engine`);
  return loadWasmKernel(wanted);
}
