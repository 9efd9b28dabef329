import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ec2NodeClassOf, offlineCatalogSource } from "@nodeplan/aws-provider";
import {
  createSolver,
  type InstanceType,
  isInputValidationError,
  NodePoolSchema,
  type Solver,
  withCatalogPrice,
} from "@nodeplan/core";
import { loadManifests, type ManifestInput } from "@nodeplan/k8s-adapter";
import { parseAllDocuments, stringify } from "yaml";
import type { DoctorReport, Finding, ObjectRef } from "./finding.ts";
import type { DoctorInput } from "./graph.ts";
import { applyJsonPatch } from "./json-patch.ts";
import { type DoctorOptions, runDoctor } from "./run.ts";

/**
 * Runs the doctor on manifest texts the way `nodeplan doctor` reads them: the k8s-adapter's loader,
 * the embedded AWS catalog (on-demand and spot) per NodePool and node class, existing nodes priced
 * from it. The CLI's end-to-end test checks the command itself.
 */

export const FIXTURES = join(import.meta.dirname, "fixtures");
export const NOW = "2026-11-02T10:30:00Z";

let solver: Promise<Solver> | undefined;
export const testSolver = () => {
  solver ??= createSolver();
  return solver;
};

/** A fixture: its texts (with base.yaml unless it says `# base: none`) and its header directives. */
export interface Fixture {
  name: string;
  texts: ManifestInput[];
  now: string;
  /** `# expect-effect: <key>`: the rule's findings carry this effect, above 0. */
  expectEffect?: string;
}

const base = () => ({ source: "base.yaml", text: readFileSync(join(FIXTURES, "base.yaml"), "utf8") });

/** Reads `fixtures/<rule>/<file>.yaml`. */
export function readFixture(rule: string, file: string): Fixture {
  const text = readFileSync(join(FIXTURES, rule, file), "utf8");
  const directive = (key: string) => new RegExp(`^#\\s*${key}:\\s*(\\S+)\\s*$`, "m").exec(text)?.[1];
  const texts = [...(directive("base") === "none" ? [] : [base()]), { source: `${rule}/${file}`, text }];
  const fixture: Fixture = { name: file.replace(/\.ya?ml$/, ""), texts, now: directive("now") ?? NOW };
  const effect = directive("expect-effect");
  if (effect !== undefined) fixture.expectEffect = effect;
  return fixture;
}

/** Fixture files of a rule whose names start with `prefix` (fires-, passes-). */
export function fixtureFiles(rule: string, prefix: string): string[] {
  let files: string[];
  try {
    files = readdirSync(join(FIXTURES, rule));
  } catch {
    return [];
  }
  return files.filter((f) => f.startsWith(prefix) && /\.ya?ml$/.test(f)).sort();
}

/** The doctor's input for texts, as the CLI prepares it (loader, catalog per NodePool, prices). */
export async function inputFor(texts: readonly ManifestInput[], now = NOW): Promise<DoctorInput> {
  const loaded = loadManifests(texts, { now });
  const errors = loaded.errors;
  if (errors.length > 0) throw new Error(`fixture does not load: ${JSON.stringify(errors, null, 1)}`);
  const source = offlineCatalogSource({ capacityTypes: ["on-demand", "spot"] });
  const instanceTypes: Record<string, InstanceType[]> = {};
  for (const pool of loaded.cluster.nodePools) {
    const raw = loaded.cluster.nodeClasses.find((c) => c.name === pool.template.nodeClassRef?.name);
    let nodeClass: ReturnType<typeof ec2NodeClassOf> | undefined;
    try {
      nodeClass = raw === undefined ? undefined : ec2NodeClassOf(raw);
    } catch (e) {
      if (!isInputValidationError(e)) throw e;
      throw new Error(`fixture node class does not load: ${e.message}`);
    }
    instanceTypes[pool.name] = await source.instanceTypes(pool, nodeClass);
  }
  const byName = new Map<string, InstanceType>();
  const all = await source.instanceTypes(NodePoolSchema.parse({ name: "all" }), undefined);
  for (const t of all) byName.set(t.name, t);
  const nodes = loaded.cluster.nodes.map((n) => withCatalogPrice(n, byName));
  return { graph: loaded.graph, cluster: { ...loaded.cluster, nodes }, instanceTypes, now };
}

/** Runs the doctor on texts. */
export async function doctorOn(
  texts: readonly ManifestInput[],
  now = NOW,
  options: Partial<DoctorOptions> = {},
): Promise<DoctorReport> {
  const input = await inputFor(texts, now);
  return runDoctor(input, { solver: await testSolver(), texts, ...options });
}

/** The object a finding's fix patches, as written: its document (or List item) in its text. */
function documentsOf(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

/** Texts with `edit` applied to the object `ref` names (its file, document and item). */
export function editObject(
  texts: readonly ManifestInput[],
  ref: ObjectRef,
  edit: (object: unknown) => unknown,
): ManifestInput[] {
  return texts.map((t) => {
    if (t.source !== ref.file) return t;
    const docs = documentsOf(t.text);
    const doc = ref.document ?? 0;
    if (ref.item === undefined) docs[doc] = edit(docs[doc]);
    else {
      const list = docs[doc] as { items: unknown[] };
      list.items[ref.item] = edit(list.items[ref.item]);
    }
    return { source: t.source, text: docs.map((d) => stringify(d ?? null)).join("---\n") };
  });
}

/** Texts with a finding's fix applied: its patch to objects[0], its new manifests added. */
export function applyFix(texts: readonly ManifestInput[], finding: Finding): ManifestInput[] {
  const fix = finding.fix;
  const subject = finding.objects[0];
  if (fix === undefined || subject === undefined) throw new Error(`${finding.rule}: no fix to apply`);
  const patched =
    fix.patch.length === 0 ? [...texts] : editObject(texts, subject, (o) => applyJsonPatch(o, fix.patch));
  if (fix.add === undefined || fix.add.length === 0) return patched;
  return [...patched, { source: "fix-added.yaml", text: fix.add.map((m) => stringify(m)).join("---\n") }];
}

/** A finding's subject: the rule, the first object's kind, namespace and name, and field. */
export const subjectOf = (f: Finding) =>
  `${f.rule} ${f.objects[0]?.kind} ${f.objects[0]?.namespace ?? ""}/${f.objects[0]?.name} ${f.objects[0]?.path ?? ""}`;
