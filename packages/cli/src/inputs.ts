import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PlanError } from "@nodeplan/core";
import { type InputNotice, loadSchemas, type ManifestInput } from "@nodeplan/k8s-adapter";
import {
  type CatalogChoice,
  catalogFromText,
  embeddedCatalog,
  type LoadedInputs,
  type Offer,
  type PrepareOptions,
  prepareInputs,
  prepareOptions,
  type SchemaLoader,
  UsageError,
} from "./prepare.ts";
import type { Progress } from "./terminal.ts";

// The browser-safe part (defaults, catalog per NodePool, error locations) is prepare.ts; this module
// adds what needs Node: files, directories, stdin and the live AWS catalog.
export {
  type CatalogChoice,
  DEFAULT_NODEPOOL_MANIFEST,
  defaultNodePool,
  describeFailure,
  type LoadedInputs,
  parseCapacityTypes,
  parseList,
  parseNow,
  renderLocatedError,
  renderNotice,
  toPlanError,
  UsageError,
  unrestrictedNodePool,
} from "./prepare.ts";

/** Options every command that reads manifests and a catalog takes. */
export interface InputOptions extends Omit<PrepareOptions, "names" | "schemas"> {
  catalog?: string;
  /** AWS region of the live catalog (--catalog aws); default the ambient one. */
  region?: string;
  /** The flag that gave `now`, for error messages (default --now). */
  timeFlag?: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const KUSTOMIZATION = /^(kustomization\.ya?ml|Kustomization)$/;

/** What `readInputs` found: the texts to read, and the files and folders it did not read. */
export interface ReadInputs {
  texts: ManifestInput[];
  notices: InputNotice[];
}

/**
 * Reads manifest files: files as given, `-` for stdin, and directories walked recursively (sorted,
 * without hidden folders and node_modules) for *.yaml, *.yml and *.json. A folder holding a
 * kustomization is not read as it is (kustomize rewrites what is in it): it becomes a notice that
 * says to run `kubectl kustomize` first. The walk keeps a queue of folders, not a recursion.
 */
export function readInputFiles(paths: readonly string[]): ReadInputs {
  const texts: ManifestInput[] = [];
  const notices: InputNotice[] = [];
  for (const path of paths) {
    if (path === "-") {
      texts.push({ source: "stdin", text: readFileSync(0, "utf8") });
      continue;
    }
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      throw new UsageError(`${path}: no such file or directory`);
    }
    if (!stat.isDirectory()) {
      texts.push({ source: path, text: readFileSync(path, "utf8") });
      continue;
    }
    const found: string[] = [];
    const folders = [path];
    for (let next = folders.shift(); next !== undefined; next = folders.shift()) {
      const entries = readdirSync(next, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      const kustomization = entries.find((e) => e.isFile() && KUSTOMIZATION.test(e.name));
      if (kustomization !== undefined) {
        notices.push({ code: "kustomization", source: join(next, kustomization.name) });
        continue;
      }
      for (const e of entries) {
        if (e.name.startsWith(".") || e.name === "node_modules") continue;
        const full = join(next, e.name);
        if (e.isDirectory()) folders.push(full);
        else if (e.isFile() && MANIFEST_FILE.test(e.name)) found.push(full);
      }
    }
    if (found.length === 0 && notices.length === 0)
      throw new UsageError(`${path}: no *.yaml, *.yml or *.json files in this directory or below it`);
    for (const f of found.sort()) texts.push({ source: f, text: readFileSync(f, "utf8") });
  }
  return { texts, notices };
}

/** The texts of `readInputFiles` (the files it did not read are left out). */
export function readInputs(paths: readonly string[]): ManifestInput[] {
  return readInputFiles(paths).texts;
}

/** The schemas of the input's kinds, imported kind by kind from the schema packages. */
export const nodeSchemas: SchemaLoader = (pairs) => loadSchemas(pairs, (specifier) => import(specifier));

/** Reads the manifests at `paths` and the catalog for every NodePool (see prepareInputs). */
export async function loadInputs(
  paths: readonly string[],
  options: InputOptions,
  progress?: Progress,
): Promise<LoadedInputs> {
  const prepared = prepareOptions({
    ...options,
    schemas: nodeSchemas,
    ...(options.timeFlag === undefined ? {} : { names: { now: options.timeFlag } }),
  });
  progress?.step("reading manifests");
  const { texts, notices } = readInputFiles(paths);
  const inputs = await prepareInputs(
    texts,
    prepared,
    (offer, errors) => openCatalog(options.catalog ?? "embedded", offer, errors, options.region),
    progress,
    notices,
  );
  return inputs;
}

/** embedded (the offline table), aws (live, ambient credentials and region), or a catalog JSON file. */
export async function openCatalog(
  catalog: string,
  offer: Offer,
  errors: PlanError[],
  region?: string,
): Promise<CatalogChoice> {
  if (region !== undefined && catalog !== "aws")
    throw new UsageError(`--region ${region}: only the live catalog (--catalog aws) has a region to choose`);
  if (catalog === "embedded") return embeddedCatalog(offer);
  if (catalog === "aws") {
    const { liveCatalog } = await import("./live.ts");
    const source = await liveCatalog(offer, region);
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
