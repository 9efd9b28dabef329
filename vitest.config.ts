import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests run against each package's TypeScript source through the "@nodeplan/source" export condition,
// so no build is needed first (the kernel's generated module is made by `turbo run generate`).
// Not vite's "module" condition: Node would then load packages' bundler-only ESM builds (the AWS SDK's
// dist-es has extensionless imports Node cannot resolve).
const conditions = ["@nodeplan/source", ...defaultServerConditions.filter((c) => c !== "module")];

const project = (name: string, root: string) => ({
  extends: true as const,
  test: { name, root, include: ["src/**/*.test.ts"] },
});

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@nodeplan/source"] } },
  test: {
    testTimeout: 60_000,
    projects: [
      project("solver-wasm", "packages/solver-wasm"),
      project("core", "packages/core"),
      project("aws-provider", "packages/aws-provider"),
      project("k8s-adapter", "packages/k8s-adapter"),
      project("simulator", "packages/simulator"),
      project("doctor", "packages/doctor"),
      project("cli", "packages/cli"),
      project("playground", "packages/playground"),
      project("bench", "bench"),
      project("test", "test"),
    ],
  },
});
