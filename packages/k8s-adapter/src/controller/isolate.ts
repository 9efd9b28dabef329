/**
 * Finding the objects a failure is about. `fails(kept)` runs the failing step (conversion, a solve)
 * on a subset of `items` and says whether it still throws. When the step throws on everything,
 * `culprits` finds the objects without which it does not: for each, the shortest prefix of the
 * remaining items that still fails ends with a culprit (binary search, log2(n) runs each), which is
 * set aside and the search repeated. A failure that needs no item at all (the catalog is down, a bug
 * on empty input) yields no culprit: that is the pass's error, not an object's.
 */
export function culprits<T>(
  items: readonly T[],
  fails: (kept: readonly T[]) => boolean,
  options: { max?: number } = {},
): { culprits: T[]; resolved: boolean } {
  const found: T[] = [];
  let rest = [...items];
  const max = options.max ?? 10;
  while (found.length < max) {
    if (!fails(rest)) return { culprits: found, resolved: true };
    if (fails([])) return { culprits: found, resolved: false };
    // Invariant: keeping rest[0, hi) fails, keeping rest[0, lo) does not.
    let lo = 0;
    let hi = rest.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (fails(rest.slice(0, mid))) hi = mid;
      else lo = mid;
    }
    const culprit = rest[hi - 1] as T;
    found.push(culprit);
    rest = rest.filter((_, i) => i !== hi - 1);
  }
  return { culprits: found, resolved: !fails(rest) };
}

/**
 * `culprits` for a step that takes a while (a solve of the whole cluster): the same search, with the
 * event loop given a turn before each run, so isolating a bad object never stalls Lease renewals for
 * more than one run.
 */
export async function culpritsAsync<T>(
  items: readonly T[],
  fails: (kept: readonly T[]) => boolean,
  options: { max?: number } = {},
): Promise<{ culprits: T[]; resolved: boolean }> {
  const found: T[] = [];
  let rest = [...items];
  const max = options.max ?? 10;
  const run = async (kept: readonly T[]) => {
    await new Promise<void>((r) => setImmediate(r));
    return fails(kept);
  };
  while (found.length < max) {
    if (!(await run(rest))) return { culprits: found, resolved: true };
    if (await run([])) return { culprits: found, resolved: false };
    let lo = 0;
    let hi = rest.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (await run(rest.slice(0, mid))) hi = mid;
      else lo = mid;
    }
    found.push(rest[hi - 1] as T);
    rest = rest.filter((_, i) => i !== hi - 1);
  }
  return { culprits: found, resolved: !(await run(rest)) };
}
