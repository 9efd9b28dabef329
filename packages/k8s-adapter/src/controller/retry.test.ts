import { describe, expect, it } from "vitest";
import { backoffMs, isRetryable, withRetry } from "./retry.ts";

const httpError = (code: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${code}`), { code, headers });

describe("withRetry", () => {
  it("retries 429, 5xx and network errors with growing, jittered delays; not 4xx answers", async () => {
    expect([429, 500, 502, 503, 504].map((c) => isRetryable(httpError(c)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([400, 401, 403, 404, 409, 422].some((c) => isRetryable(httpError(c)))).toBe(false);
    expect(isRetryable(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(true);
    expect(isRetryable(new Error("not the leader"))).toBe(false);
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        if (calls < 4) throw httpError(429);
        return "done";
      },
      { baseMs: 100, maxMs: 1000, attempts: 6 },
      { sleep: async (ms) => void delays.push(ms), random: () => 0.99 },
    );
    expect(result).toBe("done");
    expect(delays).toEqual([99, 198, 396]);
  });

  it("gives up after the attempts, and at once on an error that is not transient", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw httpError(503);
        },
        { attempts: 3 },
        { sleep: async () => {} },
      ),
    ).rejects.toThrow("HTTP 503");
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw httpError(403);
        },
        {},
        { sleep: async () => {} },
      ),
    ).rejects.toThrow("HTTP 403");
    expect(calls).toBe(1);
  });

  it("waits at least the server's Retry-After, capped", async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        calls += 1;
        if (calls === 1) throw httpError(429, { "retry-after": "2" });
      },
      { baseMs: 10, maxMs: 5000 },
      { sleep: async (ms) => void delays.push(ms), random: () => 0 },
    );
    expect(delays).toEqual([2000]);
    expect(backoffMs(30, { baseMs: 200, maxMs: 10_000 }, () => 0.5)).toBe(5000);
  });
});
