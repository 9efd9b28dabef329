import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import type { Segment } from "./json-patch.ts";

/**
 * Lines of fields in the texts the manifests came from, for SARIF regions and editors: the texts are
 * parsed again with positions (the loader keeps values only), once per text, and only when asked.
 */

/** A manifest text as the host read it (`source` as the loader names it). */
export interface SourceText {
  source: string;
  text: string;
}

/** Finds lines of fields in a set of texts. */
export class LineFinder {
  private readonly texts: Map<string, string>;
  private readonly parsed = new Map<string, { docs: Node[]; lines: LineCounter } | undefined>();

  constructor(texts: readonly SourceText[]) {
    this.texts = new Map(texts.map((t) => [t.source, t.text]));
  }

  /**
   * The line (from 1) of the deepest part of `path` that exists in document `document` of `source`
   * (the path starts inside the document: `items`, i for a List item, then the field).
   */
  line(source: string, document: number, path: readonly Segment[]): number | undefined {
    const file = this.parse(source);
    let node: Node | undefined = file?.docs[document];
    if (file === undefined || node === undefined) return undefined;
    let at = node.range?.[0];
    for (const s of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(s));
        if (pair === undefined) break;
        at = isScalar(pair.key) ? pair.key.range?.[0] : at;
        node = pair.value as Node | undefined;
      } else if (isSeq(node) && typeof s === "number") {
        const item = node.items[s] as Node | undefined;
        if (item === undefined) break;
        at = item.range?.[0] ?? at;
        node = item;
      } else break;
      if (node === undefined || node === null) break;
    }
    return at === undefined ? undefined : file.lines.linePos(at).line;
  }

  private parse(source: string): { docs: Node[]; lines: LineCounter } | undefined {
    if (this.parsed.has(source)) return this.parsed.get(source);
    const text = this.texts.get(source);
    let out: { docs: Node[]; lines: LineCounter } | undefined;
    if (text !== undefined) {
      const lines = new LineCounter();
      const trimmed = text.trimStart();
      const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false });
      const list = Array.isArray(docs) ? docs : [docs];
      let contents = list.map((d) => d.contents as Node);
      // A JSON array of objects is read as one document per element, as the loader reads it.
      const first = contents[0];
      if (trimmed.startsWith("[") && contents.length === 1 && isSeq(first)) contents = first.items as Node[];
      out = { docs: contents, lines };
    }
    this.parsed.set(source, out);
    return out;
  }
}
