/**
 * @nodeplan/solver-wasm: the packing kernel. WebAssembly (SIMD or scalar, chosen at load time) with a
 * pure-TypeScript reference of the same algorithm as oracle and fallback. Numbers in, numbers out.
 */

export { kernelScalarBase64, kernelSimdBase64 } from "./generated/kernel-wasm.ts";
export { createKernel, type Kernel, type KernelFlavor, type KernelOptions } from "./kernel.ts";
export {
  CLASS_ACTIVATES,
  CLASS_COUNTED,
  defaultGroupValues,
  type EncodedProblem,
  ERROR_ABI_MISMATCH,
  ERROR_BAD_HEADER,
  ERROR_TOO_MANY_BINS,
  ERROR_TOO_MANY_PLACEMENTS,
  encodedProblem,
  HEADER,
  KERNEL_ABI_VERSION,
  type KernelResult,
  type ProblemParts,
  REASON_CLASS_CAP,
  REASON_LAUNCH_CAP,
  REASON_NO_COMPATIBLE_OFFERING,
  REASON_NONE,
  REASON_POOL_LIMIT,
  REASON_TOO_LARGE,
  validateEncodedProblem,
  wordsFor,
} from "./problem.ts";
export { solveReference } from "./reference.ts";
