import { deeplyFrozen } from "./frozen.ts";

/** How far past the expected position an element of the last list is looked for (removed elements). */
const LOOKAHEAD = 64;
/**
 * Misses in a row after which the walk looks for its place again through the last list's anchors: a
 * single changed element misses once, a pod list after a scale-down or a batch of bindings (hundreds of
 * neighbours changed or removed together) misses on.
 */
const RESYNC_AFTER = 4;
/**
 * Every `ANCHOR_STRIDE`th element of the last list is an anchor, found by identity through a Map (built
 * when a walk first needs it: 1/32 of the list, where indexing every element touches every object,
 * the cost this class avoids). Lost, a walk reads at most that many elements before it is in step again.
 */
const ANCHOR_STRIDE = 32;

/**
 * A small integer fact per element, remembered along lists that change little between calls: the
 * controller's pods, pass after pass (the simulator hands the same frozen objects in the same order).
 * Each element is matched by identity against the last list walked, in order, skipping up to
 * `LOOKAHEAD` removed ones; after `RESYNC_AFTER` misses in a row (a run of changed elements, or more
 * removed at once than the lookahead reaches) the walk finds its place again at the next anchor of the
 * last list (`ANCHOR_STRIDE`), so one long run does not leave every element after it unmatched. Only elements not
 * matched are read (`fact`). A pass over 20k pods then compares pointers instead of touching 20k
 * objects scattered over the heap. Only deeply frozen
 * elements are remembered, and only facts >= 0 (a negative fact is given to `visit` and read again
 * next time), so a fact can never go stale. Not re-entrant: a walk within a walk of the same
 * `ListFacts` reads everything and remembers nothing.
 */
export class ListFacts<T> {
  private last: (T | undefined)[] = [];
  private lastFacts = new Int32Array(0);
  private lastLength = 0;
  /** The buffers the next walk fills (the lists of the walk before last; `spareUsed` of them set). */
  private spare: (T | undefined)[] = [];
  private spareFacts = new Int32Array(0);
  private spareUsed = 0;
  private busy = false;

  /**
   * Calls `visit` with each element of `items`, its fact and its position, in order; `fact` reads an
   * element not matched (the same function for the same kind of fact, walk after walk).
   */
  each(
    items: readonly T[],
    fact: (v: T, i: number) => number,
    visit: (v: T, fact: number, i: number) => void,
  ): void {
    if (this.busy) {
      for (let i = 0; i < items.length; i++) visit(items[i] as T, fact(items[i] as T, i), i);
      return;
    }
    this.busy = true;
    try {
      this.walk(items, fact, visit);
    } finally {
      this.busy = false;
    }
  }

  private walk(
    items: readonly T[],
    fact: (v: T, i: number) => number,
    visit: (v: T, fact: number, i: number) => void,
  ): void {
    const last = this.last;
    const lastFacts = this.lastFacts;
    const lastLength = this.lastLength;
    const next = this.spare;
    let nextFacts = this.spareFacts;
    if (nextFacts.length < items.length) nextFacts = new Int32Array(items.length + (items.length >> 2));
    let j = 0;
    let k = 0;
    let misses = 0;
    let anchors: Map<T, number> | undefined;
    for (let i = 0; i < items.length; i++) {
      const v = items[i] as T;
      let f = -1;
      let found = false;
      if (j < lastLength && last[j] === v) {
        f = lastFacts[j] as number;
        found = true;
        j++;
      } else
        for (let d = 1; d <= LOOKAHEAD && j + d < lastLength; d++)
          if (last[j + d] === v) {
            f = lastFacts[j + d] as number;
            found = true;
            j += d + 1;
            break;
          }
      if (!found && ++misses >= RESYNC_AFTER && j < lastLength) {
        anchors ??= anchorsOf(last, lastLength);
        const x = anchors.get(v);
        if (x !== undefined) {
          f = lastFacts[x] as number;
          found = true;
          // An anchor behind the position (the list reordered) keeps its fact; the walk goes on.
          if (x >= j) j = x + 1;
        }
      }
      if (found) misses = 0;
      else {
        f = fact(v, i);
        if (f < 0 || !deeplyFrozen(v)) {
          visit(v, f, i);
          continue;
        }
      }
      next[k] = v;
      nextFacts[k] = f;
      k++;
      visit(v, f, i);
    }
    // Past the new length, the buffer lets go of what it held (it is not shortened: it would shrink).
    for (let x = k; x < this.spareUsed; x++) next[x] = undefined;
    this.spare = last;
    this.spareFacts = lastFacts;
    this.spareUsed = lastLength;
    this.last = next;
    this.lastFacts = nextFacts;
    this.lastLength = k;
  }
}

/** Positions of every `ANCHOR_STRIDE`th of the first `length` elements of `list`, by identity. */
function anchorsOf<T>(list: readonly (T | undefined)[], length: number): Map<T, number> {
  const out = new Map<T, number>();
  for (let x = 0; x < length; x += ANCHOR_STRIDE) out.set(list[x] as T, x);
  return out;
}
