import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deepFreeze } from "./frozen.ts";
import { ListFacts } from "./list-facts.ts";

interface Item {
  id: number;
  bound: boolean;
}

const boundOf = (v: Item) => (v.bound ? 1 : 0);

function walk(memo: ListFacts<Item>, items: readonly Item[], fact: (v: Item) => number = boundOf): number[] {
  const out: number[] = [];
  memo.each(items, fact, (v, f, i) => {
    expect(i).toBe(out.length);
    out.push(f);
    expect(v).toBe(items[i]);
  });
  return out;
}

const direct = (items: readonly Item[]) => items.map((v) => (v.bound ? 1 : 0));

/** Walks `items` with a reader that counts: checks the facts against reading every element, returns the reads. */
function reads(memo: ListFacts<Item>, items: readonly Item[]): number {
  let n = 0;
  const counted = (v: Item) => {
    n++;
    return boundOf(v);
  };
  expect(walk(memo, items, counted)).toEqual(direct(items));
  return n;
}

describe("ListFacts", () => {
  test("reads only the elements the last list did not have", () => {
    const memo = new ListFacts<Item>();
    const items = Array.from({ length: 200 }, (_, id) => deepFreeze({ id, bound: id % 3 === 0 }));
    expect(reads(memo, items)).toBe(200);
    // Ten removed at once, two inserted, one at each end: four reads.
    const fresh = [0, 1, 2, 3].map((i) => deepFreeze({ id: 1000 + i, bound: i % 2 === 0 }));
    const next = [
      fresh[0],
      ...items.slice(0, 50),
      fresh[1],
      ...items.slice(60, 120),
      fresh[2],
      ...items.slice(120),
      fresh[3],
    ] as Item[];
    expect(reads(memo, next)).toBe(4);
    // More removed in a row than the lookahead reaches: in step again at the next anchor (every 32nd
    // element of the last list), so at most that many read, where losing step would read all 54.
    const far = reads(memo, next.slice(150));
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThanOrEqual(32);
  });

  test("a run of changed elements longer than the lookahead costs its own reads and at most a stride more", () => {
    const memo = new ListFacts<Item>();
    const items = Array.from({ length: 1000 }, (_, id) => deepFreeze({ id, bound: id % 3 === 0 }));
    reads(memo, items);
    // 150 neighbours replaced by new objects (a batch of pods bound at once), the rest as they were.
    const changed = items.map((v, i) =>
      i >= 100 && i < 250 ? deepFreeze({ id: v.id, bound: !v.bound }) : v,
    );
    const once = reads(memo, changed);
    expect(once).toBeGreaterThanOrEqual(150);
    expect(once).toBeLessThanOrEqual(150 + 32);
    // Two runs, each followed by unchanged elements: both found again (750 elements after them unread).
    const twice = changed.map((v, i) =>
      (i >= 300 && i < 400) || (i >= 600 && i < 700) ? deepFreeze({ id: v.id, bound: !v.bound }) : v,
    );
    expect(reads(memo, twice)).toBeLessThanOrEqual(200 + 2 * 32);
  });

  test("an element that is not deeply frozen is read every time", () => {
    const memo = new ListFacts<Item>();
    const mutable: Item = { id: 1, bound: false };
    const items = [deepFreeze({ id: 0, bound: true }), mutable];
    expect(walk(memo, items)).toEqual([1, 0]);
    mutable.bound = true;
    expect(walk(memo, items)).toEqual([1, 1]);
  });

  test("facts always equal reading every element, whatever the lists walked before", () => {
    const pool = Array.from({ length: 40 }, (_, id) =>
      id % 5 === 4 ? { id, bound: id % 2 === 0 } : deepFreeze({ id, bound: id % 3 === 0 }),
    );
    const list = fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 120 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(list, fc.integer({ min: 0, max: pool.length - 1 })), { maxLength: 8 }),
        (lists) => {
          const memo = new ListFacts<Item>();
          for (const [indexes, flip] of lists) {
            const items = indexes.map((i) => pool[i] as Item);
            expect(walk(memo, items)).toEqual(direct(items));
            // Mutable elements change between walks.
            const m = pool[flip] as Item;
            if (!Object.isFrozen(m)) m.bound = !m.bound;
          }
        },
      ),
    );
  });
});
