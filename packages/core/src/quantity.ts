import type { InputError, IssuePath } from "./errors.ts";

/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource, quantity.go and suffix.go),
 * parsed exactly with BigInt and rounded up to integers in the model's units.
 *
 * Kubernetes first rounds a parsed quantity up to a whole nano and then MilliValue()/Value() round
 * up again. Ceiling to a coarser grid after ceiling to a finer grid that contains it is the same as
 * one ceiling, so a single exact ceiling here gives Kubernetes' numbers.
 */

/** How a quantity is read: `cpu` in millicores, `bytes`, or a plain `count` (pods, GPUs, ...). */
export type QuantityKind = "cpu" | "bytes" | "count";

/** A parsed quantity in the kind's unit, or the input error saying why not. */
export type QuantityResult = { ok: true; value: number } | { ok: false; error: InputError };

// The grammar of the Kubernetes OpenAPI pattern for quantities, except that an exponent must be an
// integer, as Go's parser demands (strconv.ParseInt on the suffix). The binary suffixes come first so
// "1Ei" is not read as "1E" followed by garbage; a bare "e"/"E" is exa only when no digits follow.
const grammar = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|([numkMGTPE]))?$/;

const binaryShift: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalExponent: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const expectedQuantity = "a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3";
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
// Decimal digits of Number.MAX_SAFE_INTEGER (16) with room to spare: any value with more integer
// digits than this is out of range without computing it.
const maxDigits = 20;
// 2^60 (the largest binary suffix) is below 10^19: a value below 10^-19 before the binary shift is
// still below 1 after it, so its ceiling is 1 without computing it.
const binaryHeadroomDigits = 19;

/** The unit a kind's integers are in, for messages ("m" for millicores). */
function unitSuffix(kind: QuantityKind): string {
  return kind === "cpu" ? "m" : "";
}

function failure(
  code: "invalid_quantity" | "quantity_out_of_range",
  input: unknown,
  path: IssuePath,
  expected: string,
): QuantityResult {
  const shown = typeof input === "string" ? input : (JSON.stringify(input) ?? String(input));
  return { ok: false, error: { code, path: [...path], value: shown.slice(0, 64), expected } };
}

/**
 * Parses a Kubernetes quantity (string, or a JSON number) into a non-negative safe integer of the
 * kind's unit, rounding up as Kubernetes' MilliValue (cpu) and Value (bytes, count) do.
 *
 * Errors: `invalid_quantity` when the text is not a quantity; `quantity_out_of_range` when it is
 * negative or its value exceeds Number.MAX_SAFE_INTEGER (for example "1Ei" as cpu).
 */
export function parseQuantity(
  input: string | number,
  kind: QuantityKind,
  path: IssuePath = [],
): QuantityResult {
  let text: string;
  if (typeof input === "string") text = input;
  else if (typeof input === "number" && Number.isFinite(input)) text = String(input);
  else return failure("invalid_quantity", input, path, expectedQuantity);

  const match = grammar.exec(text);
  if (match === null) return failure("invalid_quantity", input, path, expectedQuantity);
  const [, sign, whole, fraction, fractionOnly, binary, exponentText, decimal] = match;

  // The value is digits × 10^exponent × 2^shift, with digits a non-negative integer.
  const fractionDigits = fraction ?? fractionOnly ?? "";
  const allDigits = `${whole ?? ""}${fractionDigits}`.replace(/^0+/, "");
  if (allDigits === "") return { ok: true, value: 0 };
  if (sign === "-") return failure("quantity_out_of_range", input, path, "a non-negative quantity");

  let exponent = -fractionDigits.length + (kind === "cpu" ? 3 : 0);
  if (decimal !== undefined) exponent += decimalExponent[decimal] ?? 0;
  if (exponentText !== undefined) {
    const parsed = Number(exponentText);
    // No quantity has more digits than its text, so beyond ±(text length + margin) the answer is
    // already decided below; clamping keeps the arithmetic small for "1e999999999".
    const bound = text.length + maxDigits + binaryHeadroomDigits;
    exponent += Math.max(-bound, Math.min(bound, parsed));
  }
  const shift = binary !== undefined ? (binaryShift[binary] ?? 0) : 0;

  const tooLarge = (): QuantityResult =>
    failure(
      "quantity_out_of_range",
      input,
      path,
      `a quantity of at most ${Number.MAX_SAFE_INTEGER}${unitSuffix(kind)}`,
    );
  const integerDigits = allDigits.length + exponent;
  if (integerDigits > maxDigits) return tooLarge();
  if (integerDigits < -binaryHeadroomDigits) return { ok: true, value: 1 };

  let numerator = BigInt(allDigits) << BigInt(shift);
  let denominator = 1n;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator = 10n ** BigInt(-exponent);
  const rounded = (numerator + denominator - 1n) / denominator;
  if (rounded > maxSafe) return tooLarge();
  return { ok: true, value: Number(rounded) };
}

const binarySuffixes: readonly (readonly [string, number])[] = [
  ["Pi", 2 ** 50],
  ["Ti", 2 ** 40],
  ["Gi", 2 ** 30],
  ["Mi", 2 ** 20],
  ["Ki", 2 ** 10],
];
const decimalSuffixes: readonly (readonly [string, number])[] = [
  ["P", 1e15],
  ["T", 1e12],
  ["G", 1e9],
  ["M", 1e6],
  ["k", 1e3],
];

/**
 * Formats an integer of the kind's unit as a short canonical quantity that `parseQuantity` reads
 * back to the same number: cpu "1930m" or "2"; bytes as the shortest of the largest exact binary suffix
 * ("6903Mi"), the largest exact decimal suffix ("2G") and plain bytes, binary on ties; count as a plain integer.
 * Negative values (differences of vectors) get a leading "-"; a non-integer is shown as it is.
 */
export function formatQuantity(value: number, kind: QuantityKind): string {
  if (!Number.isSafeInteger(value)) return `${value}${unitSuffix(kind)}`;
  if (value < 0) return `-${formatQuantity(-value, kind)}`;
  if (value === 0) return "0";
  if (kind === "cpu") return value % 1000 === 0 ? String(value / 1000) : `${value}m`;
  if (kind === "count") return String(value);
  // The shortest of: largest exact binary suffix, largest exact decimal suffix, plain bytes; ties
  // go to binary, the way memory is usually written (2e9 is "2G", not "1953125Ki").
  let best = String(value);
  for (const suffixes of [decimalSuffixes, binarySuffixes]) {
    const exact = suffixes.find(([, size]) => value % size === 0);
    if (exact === undefined) continue;
    const text = `${value / exact[1]}${exact[0]}`;
    if (text.length <= best.length) best = text;
  }
  return best;
}
