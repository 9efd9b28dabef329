/** How a write is retried: exponential backoff with full jitter, a cap per delay and on attempts. */
export interface RetryPolicy {
  /** First delay's upper bound (default 200 ms); each retry doubles it. */
  baseMs?: number;
  /** Largest delay (default 10 s). */
  maxMs?: number;
  /** Tries in all, the first included (default 6). */
  attempts?: number;
}

/** Network error codes a retry can cure (the request may not have reached the server). */
const transientCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The HTTP status of a client-node ApiException (or undefined for a network error). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code =
    (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof code === "number" ? code : undefined;
}

/**
 * Whether a failed API call is worth retrying: 429 (throttled, or a PDB for evictions: callers that
 * treat 429 as an answer check it before), 500, 502, 503, 504, and network errors.
 */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined)
    return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: string; message?: unknown };
  const code =
    typeof e.code === "string" ? e.code : typeof e.cause?.code === "string" ? e.cause.code : undefined;
  if (code !== undefined) return transientCodes.has(code);
  return (
    e.name === "FetchError" ||
    (typeof e.message === "string" && /fetch failed|socket hang up/i.test(e.message))
  );
}

/** The server's Retry-After (seconds) in milliseconds, when it sent one. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string | undefined> } | null)?.headers;
  const value = headers?.["retry-after"] ?? headers?.["Retry-After"];
  const seconds = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The delay before retry `attempt` (0-based): uniform in [0, min(max, base x 2^attempt)) (full jitter). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = policy.baseMs ?? 200;
  const max = policy.maxMs ?? 10_000;
  return Math.floor(random() * Math.min(max, base * 2 ** attempt));
}

/**
 * Calls `call` until it succeeds, fails with an error `retryable` rejects, or the attempts run out;
 * between tries it waits `backoffMs` (at least the server's Retry-After, capped at `maxMs`).
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  policy: RetryPolicy,
  hooks: {
    retryable?: (err: unknown) => boolean;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
    sleep?: (ms: number) => Promise<void>;
    random?: () => number;
  } = {},
): Promise<T> {
  const attempts = Math.max(1, policy.attempts ?? 6);
  const retryable = hooks.retryable ?? isRetryable;
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt + 1 >= attempts || !retryable(err)) throw err;
      const after = retryAfterMs(err);
      const delay = Math.min(
        policy.maxMs ?? 10_000,
        Math.max(after ?? 0, backoffMs(attempt, policy, hooks.random)),
      );
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
