/**
 * Retries AWS calls that were throttled, with exponential backoff and full jitter. The clock is
 * injectable so tests run instantly and deterministically.
 */

/** How to retry. */
export interface RetryOptions {
  /** Attempts in all, including the first; default 6. */
  maxAttempts?: number;
  /** Backoff cap for the first retry; doubles per attempt; default 200 ms. */
  baseDelayMillis?: number;
  /** Largest backoff; default 20 s. */
  maxDelayMillis?: number;
  /** Waits; default setTimeout. */
  sleep?: (millis: number) => Promise<void>;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
}

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
]);

/** True when an AWS SDK error says the request was throttled. */
export function isThrottlingError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as {
    name?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  if (e.$retryable?.throttling === true) return true;
  if (e.$metadata?.httpStatusCode === 429) return true;
  return (
    (typeof e.name === "string" && THROTTLING_CODES.has(e.name)) ||
    (typeof e.Code === "string" && THROTTLING_CODES.has(e.Code))
  );
}

const defaultSleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis));

/** Runs `call`, retrying throttling errors; other errors, and the last throttling error, propagate. */
export async function withThrottlingRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const base = options.baseDelayMillis ?? 200;
  const cap = options.maxDelayMillis ?? 20_000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= maxAttempts || !isThrottlingError(error)) throw error;
      await sleep(Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1))));
    }
  }
}

/** Runs the tasks with at most `limit` in flight; results in task order. */
export async function runBounded<T>(
  tasks: readonly (() => Promise<T>)[],
  limit: number,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      const task = tasks[index];
      if (task === undefined) continue;
      try {
        results[index] = { status: "fulfilled", value: await task() };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return results;
}

/**
 * Every page of a paginated AWS call, each with throttling retries: `call` spreads `next` (the page's
 * NextToken, none for the first) into its request.
 */
export async function* eachPage<P extends { NextToken?: string | undefined }>(
  call: (next: { NextToken?: string }) => Promise<P>,
  retry?: RetryOptions,
): AsyncGenerator<P> {
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(
      () => call(token === undefined ? {} : { NextToken: token }),
      retry,
    );
    yield page;
    token = page.NextToken;
  } while (token !== undefined && token !== "");
}
