import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { JsonPatchOperation } from "./finding.ts";
import { applyJsonPatch, JsonPatchError, parsePointer, pointer, setOperation } from "./json-patch.ts";
import { at } from "./raw.ts";

describe("applyJsonPatch (RFC 6902, its appendix A examples)", () => {
  const cases: { name: string; doc: unknown; patch: JsonPatchOperation[]; expected: unknown }[] = [
    {
      name: "A.1 add an object member",
      doc: { foo: "bar" },
      patch: [{ op: "add", path: "/baz", value: "qux" }],
      expected: { baz: "qux", foo: "bar" },
    },
    {
      name: "A.2 add an array element",
      doc: { foo: ["bar", "baz"] },
      patch: [{ op: "add", path: "/foo/1", value: "qux" }],
      expected: { foo: ["bar", "qux", "baz"] },
    },
    {
      name: "A.3 remove an object member",
      doc: { baz: "qux", foo: "bar" },
      patch: [{ op: "remove", path: "/baz" }],
      expected: { foo: "bar" },
    },
    {
      name: "A.4 remove an array element",
      doc: { foo: ["bar", "qux", "baz"] },
      patch: [{ op: "remove", path: "/foo/1" }],
      expected: { foo: ["bar", "baz"] },
    },
    {
      name: "A.5 replace a value",
      doc: { baz: "qux", foo: "bar" },
      patch: [{ op: "replace", path: "/baz", value: "boo" }],
      expected: { baz: "boo", foo: "bar" },
    },
    {
      name: "A.6 move a value",
      doc: { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      patch: [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      expected: { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    },
    {
      name: "A.7 move an array element",
      doc: { foo: ["all", "grass", "cows", "eat"] },
      patch: [{ op: "move", from: "/foo/1", path: "/foo/3" }],
      expected: { foo: ["all", "cows", "eat", "grass"] },
    },
    {
      name: "A.10 add a nested member object",
      doc: { foo: "bar" },
      patch: [{ op: "add", path: "/child", value: { grandchild: {} } }],
      expected: { foo: "bar", child: { grandchild: {} } },
    },
    {
      name: "A.14 ~ escape ordering",
      doc: { "/": 9, "~1": 10 },
      patch: [{ op: "test", path: "/~01", value: 10 }],
      expected: { "/": 9, "~1": 10 },
    },
    {
      name: "A.16 add an array value",
      doc: { foo: ["bar"] },
      patch: [{ op: "add", path: "/foo/-", value: ["abc", "def"] }],
      expected: { foo: ["bar", ["abc", "def"]] },
    },
    {
      name: "copy",
      doc: { a: { b: 1 } },
      patch: [{ op: "copy", from: "/a", path: "/c" }],
      expected: { a: { b: 1 }, c: { b: 1 } },
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const before = JSON.stringify(c.doc);
      expect(applyJsonPatch(c.doc, c.patch)).toEqual(c.expected);
      expect(JSON.stringify(c.doc)).toBe(before);
    });

  test("errors: A.8 a failing test, A.9 a missing parent, A.15 comparing strings and numbers, bad indices", () => {
    expect(() => applyJsonPatch({ baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }])).toThrow(
      JsonPatchError,
    );
    expect(() => applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz/bat", value: "qux" }])).toThrow(
      /does not exist/,
    );
    expect(() => applyJsonPatch({ "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: "10" }])).toThrow(
      JsonPatchError,
    );
    expect(() => applyJsonPatch({ a: [1] }, [{ op: "add", path: "/a/5", value: 2 }])).toThrow(/out of range/);
    expect(() => applyJsonPatch({ a: [1] }, [{ op: "remove", path: "/a/01" }])).toThrow(/not an array index/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "remove", path: "/b" }])).toThrow(
      /nothing to remove|does not exist/,
    );
    expect(() => applyJsonPatch({ a: { b: 1 } }, [{ op: "move", from: "/a", path: "/a/b/c" }])).toThrow(
      /own children/,
    );
  });
});

const key = fc.oneof(
  fc.constantFrom("a", "b", "metadata", "a/b", "x~y", "~1", ""),
  fc.string({ maxLength: 4 }),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.string({ maxLength: 3 }),
    fc.boolean(),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(key, tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("pointers and setOperation", () => {
  test("property: pointer and parsePointer are inverse, escapes included", () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 5 }), (path) => {
        expect(parsePointer(pointer(path))).toEqual(path);
      }),
    );
  });

  test("property: the operation setOperation builds sets the field, whatever of its path exists, and nothing else", () => {
    fc.assert(
      // ("-" appends to a list: a path ending there is not read back by key.)
      fc.property(
        fc.dictionary(key, json, { maxKeys: 4 }),
        fc.array(
          key.filter((k) => k !== "-"),
          { minLength: 1, maxLength: 4 },
        ),
        json,
        (doc, path, value) => {
          const op = setOperation(doc, path, value);
          const after = applyJsonPatch(doc, [op]) as Record<string, unknown>;
          expect(at(after, path)).toEqual(value);
          for (const k of Object.keys(doc)) if (k !== path[0]) expect(after[k]).toEqual(doc[k]);
        },
      ),
      {
        numRuns: 300,
        examples: [[{ spec: { template: {} } }, ["spec", "template", "spec", "tolerations"], []]],
      },
    );
  });

  test("appending with - creates the list when it is missing", () => {
    const doc = { spec: {} };
    const first = setOperation(doc, ["spec", "tolerations", "-"], { key: "a" });
    expect(first).toEqual({ op: "add", path: "/spec/tolerations", value: [{ key: "a" }] });
    const after = applyJsonPatch(doc, [first]);
    expect(setOperation(after, ["spec", "tolerations", "-"], { key: "b" })).toEqual({
      op: "add",
      path: "/spec/tolerations/-",
      value: { key: "b" },
    });
  });
});
