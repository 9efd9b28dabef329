// The schema packages' compiled validators read every property their schemas declare, except the
// few their generator drops (documentation keys). This walks every model of both packages, compares
// the properties its type declaration lists with the ones its validator reads, and pins the
// exceptions the unknown-field check allows for: an upgrade that changes them fails here.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { schemaPackages } from "./schemas.ts";

const require = createRequire(import.meta.url);

function declarationFiles(root: string): string[] {
  const out: string[] = [];
  const folders = [root];
  for (let next = folders.shift(); next !== undefined; next = folders.shift())
    for (const e of readdirSync(next, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith("_") && e.name !== "node_modules")
        folders.push(join(next, e.name));
      else if (e.isFile() && e.name.endsWith(".d.ts") && e.name !== "index.d.ts")
        out.push(join(next, e.name));
    }
  return out.sort();
}

describe("the schema packages", () => {
  it("validators read every declared property but `description` and JSONSchemaProps' x-kubernetes-* keys", async () => {
    const unread: string[] = [];
    let models = 0;
    for (const pkg of schemaPackages) {
      const root = dirname(require.resolve(`${pkg}/package.json`));
      for (const file of declarationFiles(root)) {
        const body = /export interface I\w+(?: extends [^{]+)? \{([\s\S]*?)\n\}/.exec(
          readFileSync(file, "utf8"),
        )?.[1];
        if (body === undefined) continue;
        const declared = [...body.matchAll(/^ {4}"([^"]+)"\??:/gm)].map((m) => m[1] as string);
        const mod = (await import(file.replace(/\.d\.ts$/, ".js"))) as Record<string, unknown>;
        const model = Object.values(mod).find(
          (v): v is { prototype: { validate(): void } } =>
            typeof v === "function" &&
            typeof (v as { prototype?: { validate?: unknown } }).prototype?.validate === "function",
        );
        if (model === undefined) continue;
        models++;
        const read = new Set<string>();
        const probe = new Proxy(Object.fromEntries(declared.map((k) => [k, undefined])), {
          get(target, key) {
            if (typeof key === "string") read.add(key);
            return Reflect.get(target, key);
          },
        });
        try {
          model.prototype.validate.call(probe);
        } catch {
          // missing required properties: only what was read matters
        }
        for (const k of declared) if (!read.has(k)) unread.push(`${relative(root, file)}: ${k}`);
      }
    }
    expect(models).toBeGreaterThan(900);
    expect(unread.filter((u) => !/: (description|x-kubernetes-[a-z-]+)$/.test(u))).toEqual([]);
    expect(unread.length).toBeGreaterThan(0);
  }, 120_000);
});
