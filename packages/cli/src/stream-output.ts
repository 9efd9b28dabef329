import { stringify } from "yaml";

/**
 * JSON and YAML written in pieces, so that a plan of any size can be printed: one string of it would
 * hit the engine's string limit (about 512 MB: `Invalid string length` at 100k pods on a large
 * catalog). Iterative (an explicit stack, no recursion), byte for byte what `JSON.stringify(v, null,
 * 2)` prints, in chunks of about 64 KB.
 */

/** Where pieces go (process.stdout.write on Linux is synchronous for files, pipes and terminals). */
export type Write = (chunk: string) => void;

const CHUNK = 64 * 1024;

/** A buffer that hands `write` chunks of about CHUNK characters. */
function chunked(write: Write) {
  let buffer = "";
  return {
    push(s: string) {
      buffer += s;
      if (buffer.length >= CHUNK) {
        write(buffer);
        buffer = "";
      }
    },
    flush() {
      if (buffer !== "") write(buffer);
      buffer = "";
    },
  };
}

type Frame =
  | { kind: "array"; items: readonly unknown[]; next: number; indent: string }
  | { kind: "object"; entries: [string, unknown][]; next: number; indent: string };

/** What JSON.stringify does to a value before printing it (toJSON, dropped members). */
function prepared(value: unknown): unknown {
  if (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  )
    return (value as { toJSON: () => unknown }).toJSON();
  return value;
}

const omitted = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";

/** Writes `value` as `JSON.stringify(value, null, 2)` followed by a newline, in pieces. */
export function writeJson(value: unknown, write: Write): void {
  const out = chunked(write);
  const stack: Frame[] = [];
  // Emits a value at the current position: scalars directly, containers by opening a frame.
  const open = (raw: unknown, indent: string) => {
    const v = prepared(raw);
    if (v === null || typeof v !== "object") {
      out.push(omitted(v) ? "null" : (JSON.stringify(v) ?? "null"));
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) out.push("[]");
      else {
        out.push("[");
        stack.push({ kind: "array", items: v, next: 0, indent });
      }
      return;
    }
    const entries = Object.entries(v).filter(([, x]) => !omitted(prepared(x)));
    if (entries.length === 0) out.push("{}");
    else {
      out.push("{");
      stack.push({ kind: "object", entries, next: 0, indent });
    }
  };
  open(value, "");
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const inner = `${frame.indent}  `;
    if (frame.kind === "array") {
      if (frame.next >= frame.items.length) {
        out.push(`\n${frame.indent}]`);
        stack.pop();
        continue;
      }
      out.push(`${frame.next === 0 ? "" : ","}\n${inner}`);
      open(frame.items[frame.next++], inner);
    } else {
      if (frame.next >= frame.entries.length) {
        out.push(`\n${frame.indent}}`);
        stack.pop();
        continue;
      }
      const [key, v] = frame.entries[frame.next] as [string, unknown];
      out.push(`${frame.next === 0 ? "" : ","}\n${inner}${JSON.stringify(key)}: `);
      frame.next++;
      open(v, inner);
    }
  }
  out.push("\n");
  out.flush();
}

/** YAML options: no anchors and aliases (a repeated object is printed again), no line folding. */
const yamlOptions = { aliasDuplicateObjects: false, lineWidth: 0 } as const;

/** One object as YAML without anchors (`&a1` / `*a1`). */
export function toPlainYaml(value: unknown): string {
  return stringify(value, yamlOptions);
}

const ITEMS_PER_PIECE = 2000;

/**
 * Writes an object as a YAML document, top-level keys one by one and long arrays in pieces of
 * ITEMS_PER_PIECE items (a block sequence may sit at its key's indentation), without anchors.
 */
export function writeYaml(value: Record<string, unknown>, write: Write): void {
  const out = chunked(write);
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length > ITEMS_PER_PIECE) {
      out.push(`${stringify(key, yamlOptions).trimEnd()}:\n`);
      for (let i = 0; i < v.length; i += ITEMS_PER_PIECE)
        out.push(stringify(v.slice(i, i + ITEMS_PER_PIECE), yamlOptions));
    } else out.push(stringify({ [key]: v }, yamlOptions));
  }
  out.flush();
}
