/** Number of v128 / lane instructions in a WebAssembly module (0 = it runs without SIMD). */
export declare function simdInstructionCount(bytes: Uint8Array): number;
