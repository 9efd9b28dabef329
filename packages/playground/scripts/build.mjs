// Builds the playground into static files: index.html, playground.js (the page), worker.js (the
// solver, off the main thread), playground.css. No server code and no run-time requests: the kernel
// is inlined, the examples are bundled, every URL is relative.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const packageDir = resolve(here, "..");
const repoDir = resolve(packageDir, "../..");

/** An example's planning time, when one of its files says it: a `# nodeplan: now=<RFC 3339>` comment. */
const NOW_COMMENT = /^#\s*nodeplan:\s*now=(\S+)\s*$/m;

/** Every folder of examples/ with its manifests, read as `nodeplan plan <dir>` reads a directory. */
export function readExamples(examplesDir = join(repoDir, "examples")) {
  return readdirSync(examplesDir)
    .filter((name) => name !== SIMULATIONS && statSync(join(examplesDir, name)).isDirectory())
    .sort()
    .map((name) => {
      const files = readdirSync(join(examplesDir, name))
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort()
        .map((f) => ({
          source: relative(repoDir, join(examplesDir, name, f)),
          text: readFileSync(join(examplesDir, name, f), "utf8"),
        }));
      const now = files.map((f) => NOW_COMMENT.exec(f.text)?.[1]).find((x) => x !== undefined);
      return now === undefined ? { name, files } : { name, files, now };
    })
    .filter((x) => x.files.length > 0);
}

/** The folder of simulation scenarios (not manifests: the Simulate tab carries them). */
const SIMULATIONS = "simulations";

/**
 * The scenarios of examples/simulations and the example folders their `spec.manifests` name (the page
 * bundles those folders once, as planning examples, and hands their files to the scenario).
 */
export function readSimulations(examplesDir = join(repoDir, "examples")) {
  const dir = join(examplesDir, SIMULATIONS);
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), "utf8");
      const manifests = /^ {2}manifests:\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? "";
      const examples = manifests
        .split(",")
        .map((x) => x.trim().replace(/^["']|["']$/g, ""))
        .filter(Boolean)
        .map((m) => {
          const target = relative(examplesDir, join(dir, m));
          if (
            target.startsWith("..") ||
            target.includes("/") ||
            !statSync(join(examplesDir, target)).isDirectory()
          )
            throw new Error(`playground: ${f} names ${m}, which is not a folder of examples/`);
          return target;
        });
      return { name: f.replace(/\.ya?ml$/, ""), scenario: { source: f, text }, examples };
    });
}

/**
 * zod's `locales` namespace imports every language's error messages (about 300 KB minified); the page
 * renders errors in English only, so the namespace is narrowed to `en` (the locale zod configures).
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: resolve(dirname(args.importer), "../locales/index.js"), namespace: "zod-locales" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

/** Builds the page into `outdir` (default packages/playground/dist); returns the files written. */
export async function buildPlayground({ outdir = join(packageDir, "dist"), minify = true } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const examples = readExamples();
  const simulations = readSimulations();
  const result = await build({
    entryPoints: {
      playground: join(packageDir, "src/main.ts"),
      worker: join(packageDir, "src/worker.ts"),
    },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["@nodeplan/source"],
    minify,
    legalComments: "none",
    define: {
      NODEPLAN_EXAMPLES: JSON.stringify(examples),
      NODEPLAN_SIMULATIONS: JSON.stringify(simulations),
    },
    logLevel: "warning",
    metafile: true,
    plugins: [zodEnglishOnly],
  });
  // A browser has no `process`, `require` or `Buffer`: a bundle that touches them fails at run time.
  for (const name of ["playground.js", "worker.js"]) {
    const code = readFileSync(join(outdir, name), "utf8");
    // (`require(` right after a quote is text: ajv's runtime names its helpers in a string.)
    const found = code.match(
      /\bprocess\.(env|argv|exit|cwd|platform|versions)\b|(?<!['"])\brequire\(|\bBuffer\./,
    );
    if (found) throw new Error(`playground: ${name} uses ${found[0]}, which a browser does not have`);
  }
  // The page's CSS, and the HTML shell; both static.
  await build({
    entryPoints: { playground: join(packageDir, "src/style.css") },
    outdir,
    bundle: true,
    minify,
    logLevel: "warning",
  });
  writeFileSync(join(outdir, "index.html"), readFileSync(join(packageDir, "src/page.html"), "utf8"));
  return {
    outdir,
    examples: examples.map((x) => x.name),
    files: readdirSync(outdir).sort(),
    inputs: Object.keys(result.metafile.inputs).length,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { outdir, files, examples } = await buildPlayground();
    console.log(`playground: built ${files.join(", ")} in ${relative(process.cwd(), outdir) || "."}`);
    console.log(`playground: examples ${examples.join(", ")}`);
  } catch (e) {
    console.error(e.errors === undefined ? e.message : "playground: the bundle did not build (see above)");
    process.exitCode = 1;
  }
}
