import type { InputError } from "@nodeplan/core";
import { type Document, LineCounter, parseAllDocuments, visit } from "yaml";

/** One input text: a file's content (or stdin) and the name it is reported under. */
export interface ManifestInput {
  source: string;
  text: string;
}

/** One Kubernetes object found in an input, with where it was found. */
export interface RawObject {
  source: string;
  /** Document index first, then `items` and the index inside a `List`. */
  path: (string | number)[];
  value: unknown;
}

/** Why a whole input, or a document of it, was not read as Kubernetes objects. */
export type InputNoticeCode =
  /** Nothing but whitespace and comments. */
  | "empty_input"
  /** A document that is not a Kubernetes object (no apiVersion and kind): package.json, values.yaml. */
  | "not_kubernetes"
  /** Helm template syntax (`{{ ... }}`): needs `helm template` first. */
  | "helm_template"
  /** A kustomization.yaml: needs `kubectl kustomize` first. */
  | "kustomization";

/** A notice about an input (or one of its documents) that was not read; rendered by the host. */
export interface InputNotice {
  code: InputNoticeCode;
  source: string;
  /** The document, when the notice is about one document of the input. */
  document?: number;
}

/** Every document read: where it is, its kind and the raw value (a `List` is one document). */
export interface DocumentRecord {
  source: string;
  index: number;
  /** `kind` and `apiVersion` as written, when they are strings. */
  kind?: string;
  apiVersion?: string;
  value: unknown;
}

/** Objects found in the inputs, and syntax errors (which cost only the broken document). */
export interface ReadDocumentsResult {
  documents: DocumentRecord[];
  objects: RawObject[];
  errors: InputError[];
  notices: InputNotice[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Matches `kind: List` and the typed lists kubectl prints (`PodList`, `NodeList`, ...). */
function isList(value: unknown): value is { kind: string; items: unknown[] } {
  if (!isRecord(value)) return false;
  return typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items);
}

/** An object with neither apiVersion nor kind is not a Kubernetes object (a config file, values). */
const isKubernetesLike = (value: unknown) =>
  isRecord(value) && (typeof value.kind === "string" || typeof value.apiVersion === "string");

/** Adds a document's objects; a List's items one by one (no recursion: Lists do not nest). */
function addObjects(out: RawObject[], source: string, index: number, value: unknown): void {
  if (isList(value)) {
    const items = value.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item !== null && item !== undefined) out.push({ source, path: [index, "items", i], value: item });
    }
    return;
  }
  out.push({ source, path: [index], value });
}

/** Where a YAML alias sits, for an alias error (unresolved, or too many: a resource exhaustion attack). */
function firstAliasAt(doc: Document, lineCounter: LineCounter): { line: number; col: number } | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_, node) {
      at = node.range?.[0];
      return visit.BREAK;
    },
  });
  return at === undefined ? undefined : lineCounter.linePos(at);
}

// `{{ ... }}` outside a YAML string: a Helm (Go) template that has not been rendered.
const HELM_ACTION = /\{\{-?\s*(\.|include|if|range|end|with|toYaml|template|define|\/\*)/;
const KUSTOMIZATION_FILE = /(^|[\\/])kustomization\.ya?ml$/;

function documentInfo(source: string, index: number, value: unknown): DocumentRecord {
  const record: DocumentRecord = { source, index, value };
  if (isRecord(value)) {
    if (typeof value.kind === "string") record.kind = value.kind;
    if (typeof value.apiVersion === "string") record.apiVersion = value.apiVersion;
  }
  return record;
}

/** Reads one document's value into the result, or a notice when it is no Kubernetes object. */
function addDocument(out: ReadDocumentsResult, source: string, index: number, value: unknown): void {
  if (value === null || value === undefined) return; // an empty document (`---` at the end)
  const record = documentInfo(source, index, value);
  out.documents.push(record);
  if (record.kind === "Kustomization" || KUSTOMIZATION_FILE.test(source)) {
    out.notices.push({ code: "kustomization", source, document: index });
    return;
  }
  if (!isKubernetesLike(value) && !Array.isArray(value)) {
    out.notices.push({ code: "not_kubernetes", source, document: index });
    return;
  }
  addObjects(out.objects, source, index, value);
}

/**
 * Splits inputs into Kubernetes objects: multi-document YAML, JSON (one object, a `List`, or an
 * array), and kubectl's `List` dumps. A document with a syntax error (or a bad YAML alias) is reported
 * with its line and column and skipped; every other document still loads. Inputs that are not
 * Kubernetes manifests (empty, Helm templates, kustomization.yaml, other YAML/JSON) are notices.
 */
export function readDocuments(inputs: readonly ManifestInput[]): ReadDocumentsResult {
  const out: ReadDocumentsResult = { documents: [], objects: [], errors: [], notices: [] };
  for (const { source, text } of inputs) {
    const trimmed = text.trimStart();
    if (trimmed === "" || /^(#[^\n]*\n?\s*)*$/.test(trimmed)) {
      out.notices.push({ code: "empty_input", source });
      continue;
    }
    if (HELM_ACTION.test(text)) {
      out.notices.push({ code: "helm_template", source });
      continue;
    }
    // JSON is a subset of YAML, but JSON.parse is much faster on large `kubectl -o json` dumps.
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      let parsed: unknown;
      let ok = false;
      try {
        parsed = JSON.parse(text);
        ok = true;
      } catch {
        // Not strict JSON (YAML flow style, or broken): the YAML parser reports where.
      }
      if (ok) {
        if (!Array.isArray(parsed)) addDocument(out, source, 0, parsed);
        else if (parsed.length === 0) out.notices.push({ code: "empty_input", source });
        else for (let i = 0; i < parsed.length; i++) addDocument(out, source, i, parsed[i]);
        continue;
      }
    }
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    for (let index = 0; index < list.length; index++) {
      const doc = list[index] as Document;
      const first = doc.errors[0];
      if (first !== undefined) {
        const at = first.linePos?.[0];
        out.errors.push({
          code: "invalid_schema",
          source,
          path: [index],
          expected: "valid YAML or JSON",
          detail: `${at === undefined ? "" : `line ${at.line}, column ${at.col}: `}${(first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
        });
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 1000 });
      } catch (e) {
        // Only aliases make toJS throw: an unresolved one, or so many that they look like an attack.
        const at = firstAliasAt(doc, lineCounter);
        out.errors.push({
          code: "invalid_schema",
          source,
          path: [index],
          expected: "valid YAML aliases (each *alias after its &anchor, at most 1000 per document)",
          detail: `${at === undefined ? "" : `line ${at.line}, column ${at.col}: `}${(e as Error).message}`,
        });
        continue;
      }
      addDocument(out, source, index, value);
    }
  }
  return out;
}
