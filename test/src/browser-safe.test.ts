import { build } from "esbuild";
import { describe, expect, test } from "vitest";

/**
 * Every package's main entry must run unchanged in a browser (ARCHITECTURE.md): bundling it for the
 * browser platform must need no Node built-in, and the bundle must not touch `process`, `require`,
 * `Buffer` or `__dirname`. Node-only code lives on subpaths (`@nodeplan/aws-provider/live`, ...).
 */
const browserEntries = [
  "@nodeplan/core",
  "@nodeplan/solver-wasm",
  "@nodeplan/aws-provider",
  "@nodeplan/k8s-adapter",
  "@nodeplan/doctor",
  "@nodeplan/cli/prepare",
];

async function bundle(entry: string): Promise<string> {
  const result = await build({
    stdin: {
      contents: `export * from ${JSON.stringify(entry)};`,
      resolveDir: import.meta.dirname,
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    conditions: ["@nodeplan/source"],
    logLevel: "silent",
    treeShaking: false,
  });
  return result.outputFiles[0]?.text ?? "";
}

describe("browser-safe entries", () => {
  for (const entry of browserEntries) {
    test(`${entry} bundles for the browser without Node built-ins or globals`, async () => {
      const code = await bundle(entry);
      expect(code.length).toBeGreaterThan(0);
      for (const forbidden of [
        /\bprocess\.(env|argv|exit|cwd|platform|versions)\b/,
        /\brequire\(/,
        /\bBuffer\./,
        /\b__dirname\b/,
        /from\s*["']node:/,
      ]) {
        expect(code, `${entry} bundle matches ${forbidden}`).not.toMatch(forbidden);
      }
    });
  }

  test("a Node-only import is caught", async () => {
    await expect(
      build({
        stdin: {
          contents: `import { readFileSync } from "node:fs"; console.log(readFileSync);`,
          resolveDir: import.meta.dirname,
          loader: "ts",
        },
        bundle: true,
        write: false,
        platform: "browser",
        logLevel: "silent",
      }),
    ).rejects.toThrow();
  });
});
