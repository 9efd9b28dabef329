import type { Kernel } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { allowedDisruptions } from "../disruption/budgets.ts";
import { type DisruptionCatalog, disruptionCatalog } from "../disruption/catalog.ts";
import { driftReason, expiresAt } from "../disruption/drift.ts";
import type { DisruptionInput } from "../disruption/input.ts";
import { nextChange } from "../disruption/loop.ts";
import { pdbMembership } from "../disruption/pdb.ts";
import { planDisruption } from "../disruption/plan-disruption.ts";
import type { DisruptionStatics } from "../disruption/statics.ts";
import { parseDurationMillis, parseNillableDurationMillis } from "../duration.ts";
import { ListFacts } from "../list-facts.ts";
import { type InstanceType, type Node, type NodePool, type Pod, podKey } from "../model.ts";
import type { DisruptionCommand, DisruptionPlan, Plan, PlannedNodeClaim } from "../plan.ts";
import { type UnavailableOffering, withUnavailableOfferings } from "../providers.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { DISRUPTED_NO_SCHEDULE_TAINT, DISRUPTED_TAINT_KEY } from "../taints.ts";
import { batchVerdict } from "./batch.ts";
import { revalidate } from "./revalidate.ts";
import type { Strategy } from "./strategy.ts";
import type {
  Action,
  CommandInProgress,
  ControllerMemory,
  DecideOptions,
  Decision,
  DecisionPod,
  DecisionState,
} from "./types.ts";

const DEFAULTS = {
  batchIdleSeconds: 1,
  batchMaxSeconds: 10,
  provisioningRetrySeconds: 10,
  validationSeconds: 15,
  replacementTimeoutSeconds: 600,
  registrationTimeoutSeconds: 900,
  unavailableOfferingSeconds: 180,
  evictionRetrySeconds: 5,
  consolidationRecheckSeconds: 300,
  /** Karpenter's disruption controller polls this often (disruption/controller.go pollingPeriod). */
  disruptionPollSeconds: 10,
};

/** Methods that go ahead whatever the budgets say, without waiting for replacements. */
const FORCEFUL = new Set<DisruptionCommand["method"]>(["expiration", "interruption"]);
/** Methods whose commands wait the validation period and are re-simulated before anything is done. */
const VALIDATED = new Set<DisruptionCommand["method"]>(["emptiness", "consolidation"]);

/**
 * One controller pass (ARCHITECTURE.md "One decision step, two worlds"): a pure function of the
 * cluster, the controller's memory and `now` that returns what to do. The controller applies the
 * actions through the API server and the launcher; the simulator applies them to its cluster. In order:
 *
 * 1. Failed launches: the offerings the provider said have no capacity go into the
 *    unavailable-offerings cache for 3 minutes, the claim is deleted; claims with no Node after 15
 *    minutes are deleted (Karpenter's registration TTL).
 * 2. Disruption commands in progress move on: a consolidation waits 15 s, is re-simulated on the
 *    cluster as it is then and dropped if it no longer fits or pays (revalidate.ts); then its candidates
 *    are tainted and its replacements launched; once they are initialized the candidates are drained
 *    (pods evicted through the eviction API, which PDBs may refuse: the next pass asks again) and
 *    deleted once empty (or forcibly past the NodePool's terminationGracePeriod). A replacement that
 *    fails or does not initialize in 10 minutes aborts the command and untaints its candidates.
 *    Expiration and interruption taint, launch and drain at once.
 * 3. Provisioning, when Karpenter's batch window over pending pods has closed (batch.ts): the
 *    strategy's provisioner plans claims; they are launched and the pods nominated to where the plan
 *    put them.
 * 4. Disruption, one wave, when provisioning launched nothing: graceful methods at most every 10 s,
 *    not while a command is validating, and not again until the cluster changed (or a blocker lifts)
 *    after a pass that found nothing; expiration and interruption whenever due. Nodes of commands in
 *    progress are being deleted to the planner: they are not candidates, and count against budgets.
 *
 * `wakeAt` says when the step wants to run again even if nothing changes (a batch window closing, a
 * validation due, a drain to retry, a node expiring, a consolidateAfter or budget window lifting).
 */
export function decide(
  kernel: Kernel,
  state: DecisionState,
  now: string,
  strategy: Strategy,
  options: DecideOptions = {},
): Decision {
  const nowMillis = Date.parse(now);
  if (!Number.isFinite(nowMillis)) throw new Error(`decide: now must be an RFC 3339 time, got ${now}`);
  const o = { ...DEFAULTS, ...options };
  const seconds = (s: number) => s * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const pass = new Pass(state, nowMillis);
  const memory: ControllerMemory = {
    ...state.memory,
    commands: [...state.memory.commands],
  };
  const { actions, ended } = pass;

  // 1. Launches that failed, claims that never registered.
  const newlyUnavailable: UnavailableOffering[] = [];
  for (const f of [...(state.launchFailures ?? [])].sort((a, b) => cmp(a.claim, b.claim))) {
    pass.failed.add(f.claim);
    for (const u of f.unavailable) {
      const offering: UnavailableOffering = {
        ...u,
        reason: f.code,
        until: iso(nowMillis + seconds(o.unavailableOfferingSeconds)),
      };
      newlyUnavailable.push(offering);
      actions.push({ type: "mark_unavailable", offering });
    }
    const claim = pass.nodes.get(f.claim);
    if (claim !== undefined && !claim.deleting)
      actions.push({ type: "delete", node: f.claim, reason: "launch_failed" });
    actions.push({
      type: "event",
      object: { kind: "NodeClaim", name: f.claim },
      reason: "LaunchFailed",
      message: `${f.code}: ${f.message}`,
      warning: true,
    });
  }
  for (const n of pass.nodes.values()) {
    if (!n.inFlight || n.deleting || pass.failed.has(n.name)) continue;
    const deadline = Date.parse(n.createdAt) + seconds(o.registrationTimeoutSeconds);
    if (deadline <= nowMillis) {
      pass.failed.add(n.name);
      actions.push({ type: "delete", node: n.name, reason: "registration_timeout" });
      actions.push({
        type: "event",
        object: { kind: "NodeClaim", name: n.name },
        reason: "RegistrationTimeout",
        message: `no Node registered within ${o.registrationTimeoutSeconds} s of launch`,
        warning: true,
      });
    } else pass.wake(deadline);
  }
  const unavailable = [...(state.unavailableOfferings ?? []), ...newlyUnavailable].filter(
    (u) => Date.parse(u.until) > nowMillis,
  );
  for (const u of unavailable) pass.wake(Date.parse(u.until));
  const instanceTypes = availableTypes(state.instanceTypes, unavailable);
  const karpenter = strategy.disruption === "karpenter";

  // 2. Commands in progress.
  let inProgress: readonly CommandInProgress[] = memory.commands;
  const disruptionInput = (nominated: ReadonlyMap<string, string>): DisruptionInput => ({
    nodes: pass.planningNodes(inProgress),
    pods: state.pods,
    nodePools: state.nodePools,
    instanceTypes,
    ...(state.daemonSets === undefined ? {} : { daemonSets: state.daemonSets }),
    ...(state.pdbs === undefined ? {} : { pdbs: state.pdbs }),
    ...(state.interruptions === undefined ? {} : { interruptions: state.interruptions }),
    ...(state.drift === undefined ? {} : { drift: state.drift }),
    nominated: Object.fromEntries(nominated),
    now,
    options: { ...o.disruptionOptions, strategy: strategy.disruption, maxWaves: 1, lowerBound: false },
  });
  const nominated = pass.nominations();
  const pending = memory.commands;
  const kept: CommandInProgress[] = [];
  // Commands are advanced in order; each sees the others as they are after the ones before it moved.
  inProgress = pending;
  for (const [i, c] of pending.entries()) {
    const next = advance(c);
    if (next !== undefined) kept.push(next);
    inProgress = [...kept, ...pending.slice(i + 1)];
  }
  memory.commands = kept;

  function advance(c: CommandInProgress): CommandInProgress | undefined {
    if (c.phase === "validating") {
      const at = Date.parse(c.validateAt ?? c.decidedAt);
      if (at > nowMillis) {
        pass.wake(at);
        return c;
      }
      const input = disruptionInput(nominated);
      const verdict = revalidate(kernel, input, statics(input), c.command, karpenter);
      if (!verdict.ok) {
        pass.end(c, "dropped", `re-validation after ${o.validationSeconds} s: ${verdict.why}`);
        return undefined;
      }
      const replacements = name(verdict.replacements, memory, pass, o.claimName);
      return start({ ...c, replacements, command: { ...c.command, savingsPerHour: verdict.savingsPerHour } });
    }
    if (c.phase === "launching") {
      const lost = c.replacements.find((r) => !pass.nodes.has(r.name) || pass.failed.has(r.name));
      const startedAt = Date.parse(c.startedAt ?? c.decidedAt);
      const timedOut = startedAt + seconds(o.replacementTimeoutSeconds) <= nowMillis;
      if (lost !== undefined || timedOut) {
        for (const n of c.command.candidates)
          if (pass.nodes.has(n))
            actions.push({ type: "untaint", node: n, key: DISRUPTED_TAINT_KEY, command: c.id });
        pass.end(
          c,
          "dropped",
          lost !== undefined
            ? `replacement ${lost.name} failed to launch`
            : `replacements not initialized within ${o.replacementTimeoutSeconds} s`,
        );
        return undefined;
      }
      const ready = c.replacements.every((r) => {
        const n = pass.nodes.get(r.name) as Node;
        return !n.inFlight && n.initialized && n.ready;
      });
      if (!ready) {
        pass.wake(startedAt + seconds(o.replacementTimeoutSeconds));
        return c;
      }
      return drain({ ...c, phase: "draining", drainingSince: now });
    }
    return drain(c);
  }

  /** Taints the candidates and launches the replacements; forceful commands drain at once. */
  function start(c: CommandInProgress): CommandInProgress | undefined {
    for (const n of c.command.candidates)
      actions.push({ type: "taint", node: n, taint: { ...DISRUPTED_NO_SCHEDULE_TAINT }, command: c.id });
    for (const claim of c.replacements)
      actions.push({ type: "launch", claim, purpose: "replacement", command: c.id });
    actions.push({
      type: "event",
      object: { kind: "Node", name: c.command.candidates[0] as string },
      reason: "DisruptionStarted",
      message: `${c.command.method} ${c.id} of ${c.command.candidates.join(", ")}: ${c.command.reason}`,
    });
    const started: CommandInProgress = { ...c, startedAt: now };
    if (FORCEFUL.has(c.command.method) || c.replacements.length === 0)
      return drain({ ...started, phase: "draining", drainingSince: now });
    return { ...started, phase: "launching" };
  }

  /** Evicts what is left on the candidates; deletes those that are empty (or past their grace period). */
  function drain(c: CommandInProgress): CommandInProgress | undefined {
    const since = Date.parse(c.drainingSince ?? now);
    let left = 0;
    for (const name of c.command.candidates) {
      const n = pass.nodes.get(name);
      if (n === undefined) continue;
      left++;
      if (n.deleting) continue;
      const pods = pass
        .podsOn(name)
        .filter((p) => !p.daemonSet && p.phase !== "Succeeded" && p.phase !== "Failed");
      const pool = n.nodePool === undefined ? undefined : pass.pool(n.nodePool);
      const grace = pool?.template.terminationGracePeriod;
      const graceMillis = grace === undefined ? null : parseDurationMillis(grace);
      if (pods.length === 0) {
        actions.push({ type: "delete", node: name, reason: "disrupted", command: c.id });
        continue;
      }
      if (graceMillis !== null && since + graceMillis <= nowMillis) {
        actions.push({ type: "delete", node: name, reason: "disrupted", command: c.id, force: true });
        continue;
      }
      if (graceMillis !== null) pass.wake(since + graceMillis);
      for (const p of pods)
        if (!p.terminating) actions.push({ type: "evict", pod: podKey(p), node: name, command: c.id });
      pass.wake(nowMillis + seconds(o.evictionRetrySeconds));
    }
    if (left === 0) {
      pass.end(c, "completed", `${c.command.candidates.length} node(s) removed`);
      return undefined;
    }
    return c;
  }

  // 3. Provisioning.
  const liveClaims = new Set<string>();
  for (const n of pass.nodes.values())
    if (n.inFlight && !n.deleting && !pass.failed.has(n.name)) liveClaims.add(n.name);
  const batch = batchVerdict(
    pass.unbound(),
    nowMillis,
    memory.lastProvisioningAt === undefined ? undefined : Date.parse(memory.lastProvisioningAt),
    liveClaims,
    {
      idleMillis: seconds(o.batchIdleSeconds),
      maxMillis: seconds(o.batchMaxSeconds),
      retryMillis: seconds(o.provisioningRetrySeconds),
    },
  );
  let plan: Plan | undefined;
  if (batch.due) {
    const input: ProvisioningInput = {
      pods: state.pods,
      nodes: pass.provisioningNodes(),
      nodePools: state.nodePools,
      instanceTypes,
      ...(state.daemonSets === undefined ? {} : { daemonSets: state.daemonSets }),
      ...(state.namespaces === undefined ? {} : { namespaces: state.namespaces }),
      now,
    };
    const raw = strategy.provisioning.provision(kernel, input);
    plan = renamePlan(raw, memory, pass, o.claimName);
    memory.lastProvisioningAt = now;
    for (const claim of plan.nodeClaims) {
      actions.push({ type: "launch", claim, purpose: "provisioning" });
      actions.push({
        type: "event",
        object: { kind: "NodeClaim", name: claim.name },
        reason: "Launching",
        message: `${claim.instanceType} in ${claim.zone} (${claim.capacityType}, $${claim.pricePerHour.toFixed(4)}/h; ${claim.instanceTypeOptions.length} options) for ${claim.pods.length} pod(s)`,
      });
    }
    for (const p of plan.placements) {
      actions.push({ type: "nominate", pod: p.pod, node: p.node });
      nominated.set(p.node, p.pod);
    }
    if (plan.unschedulable.length > 0) {
      const codes = new Map<string, number>();
      for (const u of plan.unschedulable) codes.set(u.reason.code, (codes.get(u.reason.code) ?? 0) + 1);
      actions.push({
        type: "event",
        object: { kind: "Pod", name: (plan.unschedulable[0] as { pod: string }).pod },
        reason: "FailedProvisioning",
        message: `${plan.unschedulable.length} pod(s) cannot be provisioned for: ${[...codes]
          .sort((a, b) => cmp(a[0], b[0]))
          .map(([c, k]) => `${k} ${c}`)
          .join(", ")}; first: ${(plan.unschedulable[0] as { message: string }).message}`,
        warning: true,
      });
    }
  } else if (batch.wakeAtMillis !== undefined) pass.wake(batch.wakeAtMillis);

  // 4. Disruption, one wave.
  let disruption: DisruptionPlan | undefined;
  if ((options.disruption ?? true) && (plan === undefined || plan.nodeClaims.length === 0)) {
    const validating = memory.commands.some((c) => c.phase === "validating");
    const memo = memory.consolidated;
    const memoHolds =
      memo !== undefined &&
      Date.parse(state.changedAt) <= Date.parse(memo.changedAt) &&
      nowMillis < Date.parse(memo.wakeAt);
    if (
      memory.gatedUntil !== undefined &&
      memory.gatedUntil !== "never" &&
      Date.parse(memory.gatedUntil) > nowMillis
    )
      pass.wake(Date.parse(memory.gatedUntil));
    const lastGraceful =
      memory.lastDisruptionAt === undefined ? undefined : Date.parse(memory.lastDisruptionAt);
    const pollDue =
      lastGraceful === undefined || nowMillis >= lastGraceful + seconds(o.disruptionPollSeconds);
    // The budget gate reads cron schedules: only worth it when planning is otherwise due.
    const gate =
      !validating && !memoHolds && pollDue
        ? budgetGate(
            pass.planningNodes(memory.commands),
            state.nodePools,
            instanceTypes,
            state.drift,
            nowMillis,
          )
        : { open: true };
    if (gate.wakeMillis !== undefined) pass.wake(gate.wakeMillis);
    if (!gate.open) memory.gatedUntil = gate.wakeMillis === undefined ? "never" : iso(gate.wakeMillis);
    else delete memory.gatedUntil;
    const graceful = !validating && !memoHolds && pollDue && gate.open;
    const forceful = pass.forcefulDue(memory.commands);
    if (graceful || forceful) {
      inProgress = memory.commands;
      const input = disruptionInput(nominated);
      disruption = planDisruption(kernel, input, statics(input), true);
      const taken = disruption.commands.filter((c) => graceful || FORCEFUL.has(c.method));
      for (const command of taken) {
        const id = `cmd-${memory.nextCommand++}`;
        const c: CommandInProgress = {
          id,
          phase: "validating",
          command,
          replacements: [],
          decidedAt: now,
        };
        if (VALIDATED.has(command.method)) {
          const validateAt = nowMillis + seconds(o.validationSeconds);
          memory.commands.push({ ...c, validateAt: iso(validateAt) });
          pass.wake(validateAt);
          actions.push({
            type: "event",
            object: { kind: "Node", name: command.candidates[0] as string },
            reason: "DisruptionValidating",
            message: `${command.method} ${id} of ${command.candidates.join(", ")} found; acted on after ${o.validationSeconds} s if still valid: ${command.reason}`,
          });
        } else {
          const started = start({
            ...c,
            replacements: name(command.replacements, memory, pass, o.claimName),
          });
          if (started !== undefined) memory.commands.push(started);
        }
      }
      if (graceful) {
        memory.lastDisruptionAt = now;
        if (disruption.commands.some((c) => !FORCEFUL.has(c.method))) delete memory.consolidated;
        else {
          const lift = nextChange(disruption, nowMillis);
          const wakeAt = Math.min(
            lift ?? Number.POSITIVE_INFINITY,
            nowMillis + seconds(o.consolidationRecheckSeconds),
          );
          memory.consolidated = { at: now, changedAt: state.changedAt, wakeAt: iso(wakeAt) };
        }
      }
    }
    const after = memory.consolidated;
    if (memory.commands.some((c) => c.phase === "validating") || memory.gatedUntil !== undefined) {
      // Planning waits for the validation, or for a budget window to open (both woken above).
    } else if (after !== undefined && Date.parse(state.changedAt) <= Date.parse(after.changedAt))
      pass.wake(Date.parse(after.wakeAt));
    else if (memory.lastDisruptionAt !== undefined)
      pass.wake(Date.parse(memory.lastDisruptionAt) + seconds(o.disruptionPollSeconds));
    else pass.wake(nowMillis);
    const expiry = pass.nextExpiry(memory.commands);
    if (expiry !== undefined) pass.wake(expiry);
  }

  memory.commands.sort((a, b) => cmp(a.id, b.id));
  const decision: Decision = { actions, memory, ended };
  if (pass.wakeMillis < Number.POSITIVE_INFINITY) decision.wakeAt = iso(Math.max(pass.wakeMillis, nowMillis));
  if (plan !== undefined) decision.plan = plan;
  if (disruption !== undefined) decision.disruption = disruption;
  return decision;
}

/**
 * Can any graceful method disrupt anything now? Not when every NodePool with managed nodes has a budget
 * of 0 for every reason (a maintenance window closed, `nodes: "0"`): Karpenter drops such candidates before
 * simulating, so planning would only confirm it. When closed, `wakeMillis` is when the first window ends.
 */
function budgetGate(
  nodes: readonly Node[],
  pools: readonly NodePool[],
  types: Readonly<Record<string, readonly InstanceType[]>>,
  drift: DecisionState["drift"],
  nowMillis: number,
): { open: boolean; wakeMillis?: number } {
  const members = new Map<string, Node[]>();
  let disrupting = new Map<string, number>();
  for (const n of nodes) {
    if (n.nodePool === undefined) continue;
    const list = members.get(n.nodePool);
    if (list === undefined) members.set(n.nodePool, [n]);
    else list.push(n);
    if (n.deleting || !n.ready) disrupting.set(n.nodePool, (disrupting.get(n.nodePool) ?? 0) + 1);
  }
  disrupting = new Map(disrupting);
  let wake: number | undefined;
  for (const pool of pools) {
    const list = members.get(pool.name);
    if (list === undefined) continue;
    const after = parseNillableDurationMillis(pool.disruption.consolidateAfter);
    const consolidates = after.ok && after.millis !== null;
    for (const reason of ["Empty", "Underutilized", "Drifted"] as const) {
      // Emptiness and consolidation need consolidateAfter; drift needs a drifted node.
      if (reason !== "Drifted" && !consolidates) continue;
      if (reason === "Drifted") {
        const byName = typeMap(types[pool.name] ?? []);
        if (!list.some((n) => !n.deleting && driftReason(n, pool, byName, drift) !== undefined)) continue;
      }
      const allowed = allowedDisruptions(
        pool,
        reason,
        nowMillis,
        list.length,
        disrupting.get(pool.name) ?? 0,
      );
      if (allowed.allowed > 0) return { open: true };
      const until = allowed.until === undefined ? Number.NaN : Date.parse(allowed.until);
      if (until > nowMillis && (wake === undefined || until < wake)) wake = until;
    }
  }
  return wake === undefined ? { open: false } : { open: false, wakeMillis: wake };
}

const typeMaps = new WeakMap<readonly InstanceType[], Map<string, InstanceType>>();
function typeMap(types: readonly InstanceType[]): Map<string, InstanceType> {
  let m = typeMaps.get(types);
  if (m === undefined) typeMaps.set(types, (m = new Map(types.map((t) => [t.name, t]))));
  return m;
}

/** Whether each pod is bound (1) or not (0), remembered along the pods lists of successive passes. */
const boundFacts = new ListFacts<DecisionPod>();
const boundFact = (p: DecisionPod) => (p.nodeName === undefined ? 0 : 1);

/** What one pass knows and accumulates: nodes by name, pods by node, failed claims, actions, wake-up. */
class Pass {
  readonly nodes: ReadonlyMap<string, Node>;
  readonly failed = new Set<string>();
  readonly actions: Action[] = [];
  readonly ended: Decision["ended"] = [];
  wakeMillis = Number.POSITIVE_INFINITY;
  /** Bound pods by node, built when first asked (most passes advance no command). */
  private byNode: Map<string, DecisionPod[]> | undefined;
  private readonly pools: ReadonlyMap<string, NodePool>;
  private readonly state: DecisionState;
  private readonly nowMillis: number;

  constructor(state: DecisionState, nowMillis: number) {
    this.state = state;
    this.nowMillis = nowMillis;
    this.nodes = new Map(state.nodes.map((n) => [n.name, n]));
    this.pools = new Map(state.nodePools.map((p) => [p.name, p]));
  }

  wake(ms: number): void {
    if (ms < this.wakeMillis) this.wakeMillis = ms;
  }

  pool(name: string): NodePool | undefined {
    return this.pools.get(name);
  }

  podsOn(node: string): readonly DecisionPod[] {
    if (this.byNode === undefined) {
      const byNode = new Map<string, DecisionPod[]>();
      for (const p of this.state.pods) {
        if (p.nodeName === undefined) continue;
        const list = byNode.get(p.nodeName);
        if (list === undefined) byNode.set(p.nodeName, [p]);
        else list.push(p);
      }
      this.byNode = byNode;
    }
    return this.byNode.get(node) ?? [];
  }

  end(c: CommandInProgress, outcome: "completed" | "dropped", why: string): void {
    this.ended.push({ id: c.id, method: c.command.method, outcome, why });
    this.actions.push({
      type: "event",
      object: { kind: "Node", name: c.command.candidates[0] as string },
      reason: outcome === "completed" ? "DisruptionCompleted" : "DisruptionDropped",
      message: `${c.command.method} ${c.id}: ${why}`,
      warning: outcome === "dropped",
    });
  }

  /** Pending pods' nominations to nodes that still exist: node -> pod. */
  nominations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of this.unbound())
      if (p.nominatedNode !== undefined && this.nodes.has(p.nominatedNode))
        out.set(p.nominatedNode, podKey(p));
    return out;
  }

  /** Pods bound to no node (pending, or nominated), found once per pass (see `boundFacts`). */
  unbound(): readonly DecisionPod[] {
    if (this.pending === undefined) {
      const out: DecisionPod[] = [];
      boundFacts.each(this.state.pods, boundFact, (p, bound) => {
        if (bound === 0) out.push(p);
      });
      this.pending = out;
    }
    return this.pending;
  }

  private pending: DecisionPod[] | undefined;

  /** Nodes provisioning may use: not failed claims (deleting and tainted nodes are skipped by the planner). */
  provisioningNodes(): Node[] {
    return this.state.nodes.filter((n) => !this.failed.has(n.name));
  }

  /** Nodes as disruption sees them: failed claims gone; the candidates of commands past validation being deleted. */
  planningNodes(commands: readonly CommandInProgress[]): Node[] {
    const going = new Set<string>();
    for (const c of commands)
      if (c.phase !== "validating") for (const n of c.command.candidates) going.add(n);
    return this.state.nodes
      .filter((n) => !this.failed.has(n.name))
      .map((n) => (going.has(n.name) && !n.deleting ? { ...n, deleting: true } : n));
  }

  /** Is an expiration or an interruption due on a node no command has yet? */
  forcefulDue(commands: readonly CommandInProgress[]): boolean {
    const taken = new Set<string>();
    for (const c of commands) for (const n of c.command.candidates) taken.add(n);
    const ids = new Set<string>();
    for (const e of this.state.interruptions ?? [])
      if (e.kind !== "rebalance_recommendation") ids.add(e.instanceId);
    for (const n of this.nodes.values()) {
      if (n.deleting || n.inFlight || taken.has(n.name) || n.nodePool === undefined) continue;
      const pool = this.pools.get(n.nodePool);
      if (pool === undefined) continue;
      const expiry = expiresAt(n, pool, parseDurationMillis);
      if (expiry !== undefined && expiry <= this.nowMillis) return true;
      if (n.providerID !== undefined && ids.size > 0) {
        const id = n.providerID.slice(n.providerID.lastIndexOf("/") + 1);
        if (ids.has(id) || ids.has(n.providerID)) return true;
      }
    }
    return false;
  }

  /** The first time a managed node no command has yet expires. */
  nextExpiry(commands: readonly CommandInProgress[]): number | undefined {
    const taken = new Set<string>();
    for (const c of commands) for (const n of c.command.candidates) taken.add(n);
    let first: number | undefined;
    for (const n of this.nodes.values()) {
      if (n.deleting || n.inFlight || taken.has(n.name) || n.nodePool === undefined) continue;
      const pool = this.pools.get(n.nodePool);
      if (pool === undefined) continue;
      const expiry = expiresAt(n, pool, parseDurationMillis);
      if (expiry !== undefined && (first === undefined || expiry < first)) first = expiry;
    }
    return first;
  }
}

/** Gives claims their final names: `<nodePool>-<n>` (or the host's), n counting across passes. */
function name(
  claims: readonly PlannedNodeClaim[],
  memory: ControllerMemory,
  pass: Pass,
  claimName: DecideOptions["claimName"],
): PlannedNodeClaim[] {
  return claims.map((c) => ({ ...c, name: freshName(c.nodePool, memory, pass, claimName) }));
}

function freshName(
  pool: string,
  memory: ControllerMemory,
  pass: Pass,
  claimName: DecideOptions["claimName"],
): string {
  for (;;) {
    const n = memory.nextClaim++;
    const candidate = claimName === undefined ? `${pool}-${n}` : claimName(pool, n);
    if (!pass.nodes.has(candidate)) return candidate;
  }
}

/** A provisioning plan with its claims renamed (placements follow). */
function renamePlan(
  plan: Plan,
  memory: ControllerMemory,
  pass: Pass,
  claimName: DecideOptions["claimName"],
): Plan {
  const names = new Map<string, string>();
  const nodeClaims = plan.nodeClaims.map((c) => {
    const fresh = freshName(c.nodePool, memory, pass, claimName);
    names.set(c.name, fresh);
    return { ...c, name: fresh };
  });
  return {
    ...plan,
    nodeClaims,
    placements: plan.placements.map((p) => ({ ...p, node: names.get(p.node) ?? p.node })),
  };
}

// Instance types with the unavailable offerings removed, and the disruption catalog over them, are
// kept between passes while what they depend on is unchanged: computing the catalog (dominance pruning
// over every type) is the most expensive part of a pass that plans disruption.
const availableCache = new WeakMap<object, { key: string; value: Record<string, InstanceType[]> }>();

function availableTypes(
  types: Readonly<Record<string, readonly InstanceType[]>>,
  unavailable: readonly UnavailableOffering[],
): Record<string, InstanceType[]> {
  const key = unavailable
    .map((u) => `${u.instanceType}/${u.zone}/${u.capacityType}`)
    .sort(cmp)
    .join(",");
  const known = availableCache.get(types);
  if (known !== undefined && known.key === key) return known.value;
  const value: Record<string, InstanceType[]> = {};
  for (const pool of Object.keys(types).sort(cmp))
    value[pool] = withUnavailableOfferings(types[pool] as readonly InstanceType[], unavailable);
  availableCache.set(types, { key, value });
  return value;
}

const catalogCache = new WeakMap<object, { key: string; catalog: DisruptionCatalog }>();
/** Ids of objects pods share (a workload's replicas share their template's selectors and requests). */
const shapeIds = new WeakMap<object, number>();
let nextShapeId = 0;

/** The disruption statics of `input`: the catalog reused while types, NodePools, DaemonSets and pod shapes are the same. */
function statics(input: DisruptionInput): DisruptionStatics {
  const pdbs = pdbMembership(input.pdbs ?? []);
  const key = catalogKey(input);
  const types = input.instanceTypes as object;
  const known = catalogCache.get(types);
  if (known !== undefined && known.key === key) return { catalog: known.catalog, pdbs };
  const catalog = disruptionCatalog(input);
  catalogCache.set(types, { key, catalog });
  return { catalog, pdbs };
}

/**
 * What the disruption catalog depends on besides the instance types: the NodePools and DaemonSets (by
 * identity), the label keys pods select, spread or co-locate on, the resources they request, and whether
 * any pod constrains another. Each pod's facts are one interned list, remembered along the passes'
 * pods lists (`ListFacts`): a pass reads only new pods, and each distinct list once.
 */
function catalogKey(input: DisruptionInput): string {
  const id = (o: object) => {
    let k = shapeIds.get(o);
    if (k === undefined) shapeIds.set(o, (k = nextShapeId++));
    return k;
  };
  const stamp = ++catalogKeyCalls;
  const facts = new Set<string>();
  podFacts.each(input.pods, podFactsIndex, (_, i) => {
    const list = factLists[i] as PodFacts;
    if (list.stamp === stamp) return;
    list.stamp = stamp;
    for (const f of list.facts) facts.add(f);
  });
  return JSON.stringify([
    id(input.nodePools as object),
    id((input.daemonSets ?? []) as object),
    [...facts].sort(cmp),
  ]);
}

/** A pod's catalog facts (see `catalogKey`), sorted and without repeats. */
function factsOf(p: Pod): string[] {
  const facts = new Set<string>();
  const terms = (list: readonly { matchExpressions: readonly { key: string }[] }[]) => {
    for (const t of list) for (const e of t.matchExpressions) facts.add(`key:${e.key}`);
  };
  for (const k of Object.keys(p.nodeSelector)) facts.add(`key:${k}`);
  terms(p.requiredNodeAffinity);
  terms(p.preferredNodeAffinity.map((x) => x.preference));
  for (const r of p.volumeRequirements) facts.add(`key:${r.key}`);
  for (const c of p.topologySpreadConstraints) facts.add(`key:${c.topologyKey}`).add("dependent");
  for (const a of [p.podAffinity, p.podAntiAffinity]) {
    for (const t of a.required) facts.add(`key:${t.topologyKey}`).add("dependent");
    for (const t of a.preferred) facts.add(`key:${t.term.topologyKey}`).add("dependent");
  }
  if (p.hostPorts.length > 0) facts.add("dependent");
  for (const [k, v] of Object.entries(p.requests)) if (v > 0) facts.add(`res:${k}`);
  return [...facts].sort(cmp);
}

/** One pod's facts, shared by every pod with the same; `stamp` is the last `catalogKey` call that read it. */
interface PodFacts {
  readonly facts: readonly string[];
  stamp: number;
}

/** The distinct facts lists, and their positions by content. */
const factLists: PodFacts[] = [];
const factListIndex = new Map<string, number>();
/** Each pod's facts list (its position in `factLists`), remembered along successive passes' pods. */
const podFacts = new ListFacts<Pod>();
const podFactsIndex = (p: Pod) => internFacts(factsOf(p));
let catalogKeyCalls = 0;

function internFacts(facts: string[]): number {
  const key = facts.join("\n");
  let i = factListIndex.get(key);
  if (i === undefined) {
    i = factLists.length;
    factLists.push({ facts, stamp: 0 });
    factListIndex.set(key, i);
  }
  return i;
}
