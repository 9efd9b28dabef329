/**
 * Go `time.Duration` strings as Karpenter's API uses them (`720h`, `30s`, `1h30m`, `500ms`, `0s`),
 * converted to integer milliseconds. `Never` is Karpenter's "no duration" (consolidateAfter, expireAfter).
 */

const unitMillis: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const durationPattern = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;
const partPattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;

/** Durations parsed so far: a cluster has few distinct ones, read for every node on every pass. */
const parsed = new Map<string, number | null>();
const MAX_REMEMBERED = 1024;

/** Parses a Go duration string to milliseconds (rounded to the nearest ms); null when invalid. */
export function parseDurationMillis(text: string): number | null {
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const millis = parse(text);
  if (parsed.size >= MAX_REMEMBERED) parsed.clear();
  parsed.set(text, millis);
  return millis;
}

function parse(text: string): number | null {
  if (text === "0") return 0;
  const match = durationPattern.exec(text);
  if (match === null) return null;
  let total = 0;
  for (const part of text.matchAll(partPattern)) {
    total += Number(part[1]) * (unitMillis[part[2] as string] as number);
  }
  const rounded = Math.round(total);
  return match[1] === "-" ? -rounded : rounded;
}

/** A duration that may be `Never` (Karpenter's NillableDuration): null means never. */
export function parseNillableDurationMillis(
  text: string,
): { ok: true; millis: number | null } | { ok: false } {
  if (text === "Never") return { ok: true, millis: null };
  const millis = parseDurationMillis(text);
  return millis === null || millis < 0 ? { ok: false } : { ok: true, millis };
}

/** Formats milliseconds as a Go-style duration (`1h30m0s` is shown as `1h30m`). */
export function formatDurationMillis(millis: number): string {
  if (millis === 0) return "0s";
  const sign = millis < 0 ? "-" : "";
  let rest = Math.abs(millis);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  return `${sign}${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}

/** Instants parsed so far (node creation times: read for every node on every pass). */
const instants = new Map<string, number>();
const MAX_INSTANTS = 16_384;

/** `Date.parse(text)`, remembered: the same timestamp strings come back pass after pass. */
export function instantMillis(text: string): number {
  let millis = instants.get(text);
  if (millis === undefined) {
    millis = Date.parse(text);
    if (instants.size >= MAX_INSTANTS) instants.clear();
    instants.set(text, millis);
  }
  return millis;
}
