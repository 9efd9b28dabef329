// Counts SIMD instructions in a WebAssembly binary by disassembling it with Binaryen (the optimizer
// AssemblyScript itself runs on, so it is always installed beside asc). Used by the build to prove the
// scalar kernel validates on engines without SIMD, and by the kernel's build test.
import binaryen from "binaryen";

const SIMD_INSTRUCTION = /\b(?:v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.[a-z_]+/g;

/** Number of v128 / lane instructions in the module's text form (0 = runs without SIMD). */
export function simdInstructionCount(bytes) {
  const module = binaryen.readBinary(bytes);
  try {
    module.setFeatures(binaryen.Features.All);
    return (module.emitText().match(SIMD_INSTRUCTION) ?? []).length;
  } finally {
    module.dispose();
  }
}
