import type { InputError, IssuePath } from "@nodeplan/core";
import { LineCounter, parseAllDocuments } from "yaml";

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

/** Objects found in the inputs, and syntax errors (which cost only the broken document). */
export interface ReadDocumentsResult {
  objects: RawObject[];
  errors: InputError[];
}

/** Matches `kind: List` and the typed lists kubectl prints (`PodList`, `NodeList`, ...). */
function isList(value: unknown): value is { kind: string; items: unknown[] } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const kind = (value as { kind?: unknown }).kind;
  const items = (value as { items?: unknown }).items;
  return typeof kind === "string" && kind.endsWith("List") && Array.isArray(items);
}

function pushObjects(out: RawObject[], source: string, path: IssuePath, value: unknown): void {
  if (value === null || value === undefined) return; // an empty document (`---` at the end)
  if (isList(value)) {
    value.items.forEach((item, i) => {
      pushObjects(out, source, [...path, "items", i], item);
    });
    return;
  }
  out.push({ source, path: [...path], value });
}

/**
 * Splits inputs into Kubernetes objects: multi-document YAML, JSON (one object, a `List`, or an
 * array), and kubectl's `List` dumps. A document with a syntax error is reported with its line and
 * column and skipped; every other document still loads.
 */
export function readDocuments(inputs: readonly ManifestInput[]): ReadDocumentsResult {
  const objects: RawObject[] = [];
  const errors: InputError[] = [];
  for (const { source, text } of inputs) {
    const trimmed = text.trimStart();
    // JSON is a subset of YAML, but JSON.parse is much faster on large `kubectl -o json` dumps.
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) {
          parsed.forEach((v, i) => {
            pushObjects(objects, source, [i], v);
          });
        } else pushObjects(objects, source, [0], parsed);
        continue;
      } catch {
        // Not strict JSON (YAML flow style, or broken): the YAML parser reports where.
      }
    }
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const first = doc.errors[0];
      if (first !== undefined) {
        const at = first.linePos?.[0];
        const error: InputError = {
          code: "invalid_schema",
          source,
          path: [index],
          expected: "valid YAML or JSON",
          detail: `${at === undefined ? "" : `line ${at.line}, column ${at.col}: `}${(first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
        };
        errors.push(error);
        return;
      }
      pushObjects(objects, source, [index], doc.toJS({ maxAliasCount: 1000 }));
    });
  }
  return { objects, errors };
}
