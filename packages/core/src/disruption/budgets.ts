import { CronExpressionParser } from "cron-parser";
import { parseDurationMillis } from "../duration.ts";
import type { Budget, NodePool } from "../model.ts";

/**
 * NodePool disruption budgets as Karpenter evaluates them (pkg/apis/v1/nodepool.go
 * GetAllowedDisruptionsByReason): the minimum over active budgets that apply to the reason, a
 * percentage scaled on the NodePool's node count and rounded up, an invalid budget allowing 0.
 * Schedules are cron in UTC; a budget is active when its schedule fired within `duration` before now.
 */

/** Disruption reasons budgets can name. */
export type BudgetReason = "Empty" | "Underutilized" | "Drifted";

/** What a NodePool allows now for one reason, and the budget that decided it. */
export interface AllowedDisruptions {
  allowed: number;
  /** The budget that set the minimum (undefined when no budget applies: unlimited). */
  budget?: Budget;
  /** When the deciding budget's window closes (scheduled budgets only). */
  until?: string;
}

/** Is a budget active at `now`, and until when? Invalid schedules or durations throw. */
export function budgetWindow(budget: Budget, nowMillis: number): { active: boolean; until?: string } {
  if (budget.schedule === undefined) return { active: true };
  const durationMillis = parseDurationMillis(budget.duration ?? "");
  if (durationMillis === null) throw new Error(`budget schedule ${budget.schedule} has no valid duration`);
  const schedule = translateMacro(budget.schedule);
  // The latest fire at or before now: a fire exactly at now counts (Karpenter checks Next(now - duration) <= now).
  const expr = CronExpressionParser.parse(schedule, { currentDate: new Date(nowMillis + 1), tz: "UTC" });
  const last = expr.prev().getTime();
  const end = last + durationMillis;
  return end > nowMillis || last === nowMillis
    ? { active: true, until: new Date(end).toISOString() }
    : { active: false };
}

/** Karpenter accepts the standard macros; cron-parser knows most, not @midnight in every version. */
function translateMacro(schedule: string): string {
  const macros: Record<string, string> = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
  };
  return macros[schedule.trim()] ?? schedule;
}

/**
 * Nodes the NodePool may disrupt now for `reason`: min over active matching budgets, minus nodes
 * already disrupting (deleting or NotReady), never below 0.
 */
export function allowedDisruptions(
  pool: NodePool,
  reason: BudgetReason,
  nowMillis: number,
  nodeCount: number,
  disrupting: number,
): AllowedDisruptions {
  let best: AllowedDisruptions | undefined;
  for (const budget of pool.disruption.budgets) {
    if (budget.reasons !== undefined && !budget.reasons.includes(reason)) continue;
    let allowed: number;
    let until: string | undefined;
    try {
      const window = budgetWindow(budget, nowMillis);
      if (!window.active) continue;
      until = window.until;
      allowed = budget.nodes.endsWith("%")
        ? Math.ceil((Number(budget.nodes.slice(0, -1)) * nodeCount) / 100)
        : Number(budget.nodes);
    } catch {
      allowed = 0;
    }
    if (best === undefined || allowed < best.allowed) {
      best = { allowed, budget };
      if (until !== undefined) best.until = until;
    }
  }
  if (best === undefined) return { allowed: Number.POSITIVE_INFINITY };
  return { ...best, allowed: Math.max(0, best.allowed - disrupting) };
}
