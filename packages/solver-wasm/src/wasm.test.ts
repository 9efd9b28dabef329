import { describe, expect, test } from "vitest";
import { simdInstructionCount } from "../scripts/simd-instructions.mjs";
import { encodeFixture } from "./fixture.test-helper.ts";
import { kernelScalarBase64, kernelSimdBase64 } from "./generated/kernel-wasm.ts";
import { createKernel } from "./kernel.ts";
import { ERROR_ABI_MISMATCH, ERROR_BAD_HEADER, HEADER, KERNEL_ABI_VERSION } from "./problem.ts";
import { decodeBase64 } from "./wasm.ts";

interface RawKernel {
  memory: WebAssembly.Memory;
  reset(): void;
  alloc(bytes: number): number;
  solve(header: number): number;
  abiVersion(): number;
}

const raw = (base64: string): RawKernel =>
  new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(base64) as Uint8Array<ArrayBuffer>), {})
    .exports as unknown as RawKernel;

describe("the inlined modules", () => {
  test("base64 decodes byte for byte as Node's decoder does", () => {
    for (const text of [kernelSimdBase64, kernelScalarBase64, "", "QQ==", "QUI=", "QUJD"])
      expect(decodeBase64(text)).toEqual(new Uint8Array(Buffer.from(text, "base64")));
  });

  test("the scalar build holds no SIMD instruction; the SIMD build does use SIMD", () => {
    expect(simdInstructionCount(decodeBase64(kernelScalarBase64))).toBe(0);
    expect(simdInstructionCount(decodeBase64(kernelSimdBase64))).toBeGreaterThan(0);
  });

  test("both stay well under 64 KB", () => {
    expect(decodeBase64(kernelSimdBase64).length).toBeLessThan(48 * 1024);
    expect(decodeBase64(kernelScalarBase64).length).toBeLessThan(48 * 1024);
  });
});

describe("the raw-pointer boundary", () => {
  test.each([
    ["simd", kernelSimdBase64],
    ["scalar", kernelScalarBase64],
  ])("%s: ABI version, 16-byte aligned allocation, header errors", (_, base64) => {
    const k = raw(base64);
    expect(k.abiVersion()).toBe(KERNEL_ABI_VERSION);
    k.reset();
    const header = k.alloc(HEADER.words * 4);
    const big = k.alloc(4 << 20); // more than the initial memory: the allocator grows it
    expect(header % 16).toBe(0);
    expect(big % 16).toBe(0);
    expect(k.memory.buffer.byteLength).toBeGreaterThanOrEqual(big + (4 << 20));
    const h = new Int32Array(k.memory.buffer, header, HEADER.words);
    h[HEADER.abi] = KERNEL_ABI_VERSION + 1;
    expect(k.solve(header)).toBe(ERROR_ABI_MISMATCH);
    h[HEADER.abi] = KERNEL_ABI_VERSION;
    h[HEADER.R] = 0;
    expect(k.solve(header)).toBe(ERROR_BAD_HEADER);
  });

  test("a kernel instance solves many problems in a row (reset per call, views re-made after growth)", () => {
    const k = createKernel({ flavor: "scalar" });
    const small = encodeFixture({
      groups: [{ req: [1000, 1], count: 3 }],
      offerings: [{ alloc: [4000, 110], price: 9 }],
    });
    const large = encodeFixture({
      groups: Array.from({ length: 50 }, (_, g) => ({ req: [100 + g * 10, 1], count: 400 })),
      offerings: Array.from({ length: 300 }, (_, t) => ({
        alloc: [1000 * (1 + (t % 8)), 110],
        price: 10 + t,
      })),
      maxBins: 30_000,
      maxPlacements: 200_000,
    });
    const first = k.solve(small);
    k.solve(large);
    expect(k.solve(small)).toEqual(first);
    expect(k.solve(large)).toEqual(createKernel({ flavor: "reference" }).solve(large));
  });
});

test("auto picks SIMD where the engine validates it (Node does)", () => {
  expect(createKernel().flavor).toBe("simd");
  expect(createKernel({ flavor: "reference" }).flavor).toBe("reference");
});
