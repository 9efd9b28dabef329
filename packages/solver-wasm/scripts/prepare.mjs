// npm runs this after `npm ci` / `npm install` (the package's `prepare` script): it generates the
// kernel module (src/generated/kernel-wasm.ts, not committed) so that every command the README names
// works right after installing, without `npm run generate` first. Without AssemblyScript (an install
// that omitted dev dependencies) it says what is missing instead of failing the whole install.
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";

const root = new URL("..", import.meta.url);
const generated = new URL("src/generated/kernel-wasm.ts", root);
const sources = [new URL("assembly/kernel.ts", root), new URL("scripts/build-wasm.mjs", root)];

const fresh =
  existsSync(generated) && sources.every((s) => statSync(s).mtimeMs <= statSync(generated).mtimeMs);
if (fresh) process.exit(0);
try {
  createRequire(import.meta.url).resolve("assemblyscript/package.json");
} catch {
  console.error(
    "solver-wasm: AssemblyScript is not installed (dev dependencies omitted), so the kernel module was not generated; install with dev dependencies, then `npm run generate`.",
  );
  process.exit(0);
}
await import("./build-wasm.mjs");
