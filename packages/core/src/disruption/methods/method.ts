import type { MethodName, Proposal, WaveSession } from "../session.ts";

/**
 * One disruption method (Karpenter's Method: emptiness, drift, multi-node and single-node
 * consolidation; expiration and interruption are forceful). Given the wave so far, it proposes the next
 * command it would take, or nothing. It simulates but never changes the cluster: the planner commits
 * what it proposes, and asks again.
 */
export interface Method {
  readonly name: MethodName;
  propose(wave: WaveSession): Proposal | undefined;
}
