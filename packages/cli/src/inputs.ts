import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PlanError } from "@nodeplan/core";
import {
  type CatalogChoice,
  catalogFromText,
  embeddedCatalog,
  type LoadedInputs,
  type Offer,
  type PrepareOptions,
  prepareInputs,
  prepareOptions,
  UsageError,
} from "./prepare.ts";
import type { Progress } from "./terminal.ts";

// The browser-safe part (defaults, catalog per NodePool, error locations) is prepare.ts; this module
// adds what needs Node: files, directories, stdin and the live AWS catalog.
export {
  type CatalogChoice,
  defaultNodePool,
  describeFailure,
  type LoadedInputs,
  parseCapacityTypes,
  parseList,
  parseNow,
  renderLocatedError,
  toPlanError,
  UsageError,
} from "./prepare.ts";

/** Options every command that reads manifests and a catalog takes. */
export interface InputOptions extends Omit<PrepareOptions, "names"> {
  catalog?: string;
  /** The flag that gave `now`, for error messages (default --now). */
  timeFlag?: string;
}

/** Reads manifest files: files as given, directories' *.yaml|*.yml|*.json sorted by name, `-` for stdin. */
export function readInputs(paths: readonly string[]): { source: string; text: string }[] {
  const out: { source: string; text: string }[] = [];
  for (const path of paths) {
    if (path === "-") {
      out.push({ source: "stdin", text: readFileSync(0, "utf8") });
      continue;
    }
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      throw new UsageError(`${path}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      const files = readdirSync(path)
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort();
      if (files.length === 0)
        throw new UsageError(`${path}: no *.yaml, *.yml or *.json files in this directory`);
      for (const f of files) out.push({ source: join(path, f), text: readFileSync(join(path, f), "utf8") });
    } else {
      out.push({ source: path, text: readFileSync(path, "utf8") });
    }
  }
  return out;
}

/** Reads the manifests at `paths` and the catalog for every NodePool (see prepareInputs). */
export async function loadInputs(
  paths: readonly string[],
  options: InputOptions,
  progress?: Progress,
): Promise<LoadedInputs> {
  const prepared = prepareOptions({
    ...options,
    ...(options.timeFlag === undefined ? {} : { names: { now: options.timeFlag } }),
  });
  progress?.step("reading manifests");
  const texts = readInputs(paths);
  return prepareInputs(
    texts,
    prepared,
    (offer, errors) => openCatalog(options.catalog ?? "embedded", offer, errors),
    progress,
  );
}

/** embedded (the offline table), aws (live, ambient credentials and region), or a catalog JSON file. */
export async function openCatalog(
  catalog: string,
  offer: Offer,
  errors: PlanError[],
): Promise<CatalogChoice> {
  if (catalog === "embedded") return embeddedCatalog(offer);
  if (catalog === "aws") {
    const { liveCatalog } = await import("./live.ts");
    const source = await liveCatalog(offer);
    return { region: source.region, source, warnings: () => source.warnings() };
  }
  let text: string;
  try {
    text = readFileSync(catalog, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--catalog ${catalog}: ${code === "ENOENT" ? "no such file (use embedded, aws, or a catalog JSON file)" : (e as Error).message}`,
    );
  }
  return catalogFromText({ source: catalog, text }, offer, errors);
}
