// Regenerates package-lock.json with npm 11.6.2 in a scratch copy of the workspace manifests.
// Why: npm 11.19's lock omits other platforms' optional packages (its own `npm ci` then rejects it),
// and any npm resolving next to an installed node_modules drops optional packages this platform did
// not install (e.g. @emnapi/core for rolldown's wasm32 binding), which `npm ci` elsewhere rejects.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const scratch = mkdtempSync(join(tmpdir(), "nodeplan-lock-"));
try {
  for (const file of ["package.json", ...manifest.workspaces.map((w) => `${w}/package.json`)]) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    copyFileSync(join(root, file), join(scratch, file));
  }
  execFileSync("npx", ["-y", "npm@11.6.2", "install", "--package-lock-only", "--no-audit", "--no-fund"], {
    cwd: scratch,
    stdio: "inherit",
  });
  copyFileSync(join(scratch, "package-lock.json"), join(root, "package-lock.json"));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
