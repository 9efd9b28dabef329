import { CronExpressionParser } from "cron-parser";

/**
 * Cron schedules (CronJobs, NodePool budget windows, both in UTC unless a CronJob says otherwise):
 * the gaps between consecutive fires over a week from `now`, which is what the rules need to know
 * (how often a CronJob churns nodes; whether a budget window never closes).
 */

/** cron-parser knows most macros; Kubernetes and Karpenter also accept these spellings. */
const MACROS: Record<string, string> = { "@midnight": "@daily", "@annually": "@yearly" };

/** The shortest and longest gap (ms) between consecutive fires over the week after `now`; undefined when invalid. */
export function cronGaps(
  schedule: string,
  nowMillis: number,
  timeZone = "UTC",
): { minMillis: number; maxMillis: number } | undefined {
  const text = MACROS[schedule.trim()] ?? schedule.trim();
  try {
    const expr = CronExpressionParser.parse(text, { currentDate: new Date(nowMillis), tz: timeZone });
    const end = nowMillis + 8 * 24 * 3_600_000;
    let last = expr.next().getTime();
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    // A week of fires (a minute schedule fires 10,080 times), bounded so no schedule can run long.
    for (let i = 0; i < 12_000 && last < end; i++) {
      const next = expr.next().getTime();
      min = Math.min(min, next - last);
      max = Math.max(max, next - last);
      last = next;
    }
    return Number.isFinite(min) ? { minMillis: min, maxMillis: max } : undefined;
  } catch {
    return undefined;
  }
}
