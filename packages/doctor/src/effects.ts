import {
  type LoopResult,
  type Plan,
  type Pod,
  type ProvisioningInput,
  podKey,
  type Solver,
  type UnschedulableReason,
} from "@nodeplan/core";
import type { DoctorGraph, DoctorInput, Hpa, Workload } from "./graph.ts";
import type { Blocker, Draft, Plans, Relaxable } from "./rule.ts";

/**
 * What findings cost, from the solver. Provisioning plans are made once each and only when a check
 * asks (the cluster as loaded; each HPA at maxReplicas where one needs it; every HPA at max for the
 * limits suggestion). Savings blocked run the controller's loop (core's consolidateToFixedPoint) once
 * on the cluster as it is, once per rule with all of that rule's blockers relaxed, and once with every
 * blocker relaxed: a run per kind of effect, not per finding.
 */

/** A pod of `w` made pending for a simulation: the first pod's template under another name. */
function replica(template: Pod, name: string): Pod {
  const { nodeName: _node, startTime: _start, ...rest } = template;
  return {
    ...rest,
    name,
    uid: `nodeplan-doctor:${template.namespace}/${name}`,
    phase: "Pending",
    provisionable: true,
    terminating: false,
  };
}

/** The cluster's pods with `w` at `count` pods (its own, then replicas named `<workload>-<i>`). */
function atCount(pods: readonly Pod[], w: Workload, count: number): { pods: Pod[]; mine: Set<string> } {
  const mine = new Set(w.pods.map(podKey));
  const template = w.pods[0];
  const out = [...pods];
  if (template === undefined) return { pods: out, mine };
  const taken = new Set(pods.filter((p) => p.namespace === w.namespace).map((p) => p.name));
  for (let i = 0; mine.size < count; i++) {
    const name = `${w.name}-${i}`;
    if (taken.has(name)) continue;
    out.push(replica(template, name));
    mine.add(`${w.namespace}/${name}`);
  }
  return { pods: out, mine };
}

/** The lazily computed plans a run's checks share. */
export function makePlans(input: DoctorInput, graph: DoctorGraph, solver: Solver): Plans {
  const { cluster } = input;
  const provision = (pods: readonly Pod[]): Plan =>
    solver.provision({
      pods,
      nodes: cluster.nodes,
      nodePools: cluster.nodePools,
      instanceTypes: input.instanceTypes as ProvisioningInput["instanceTypes"],
      daemonSets: cluster.daemonSets,
      namespaces: cluster.namespaces,
      now: input.now,
    });
  let current: Plan | undefined;
  let stuck: Map<Workload, { pod: Pod; reason: UnschedulableReason }[]> | undefined;
  const atMax = new Map<Hpa, { plan: Plan; pods: ReadonlySet<string> } | undefined>();
  let poolCpu: Map<string, number> | undefined;
  const byKey = new Map(cluster.pods.map((p) => [podKey(p), p]));
  const plans: Plans = {
    current() {
      current ??= provision(cluster.pods);
      return current;
    },
    unschedulable(w) {
      if (stuck === undefined) {
        stuck = new Map();
        for (const u of plans.current().unschedulable) {
          const pod = byKey.get(u.pod);
          const owner = pod === undefined ? undefined : graph.workloadOf(pod);
          if (pod === undefined || owner === undefined) continue;
          const list = stuck.get(owner) ?? [];
          list.push({ pod, reason: u.reason });
          stuck.set(owner, list);
        }
      }
      return stuck.get(w) ?? [];
    },
    atMaxReplicas(hpa) {
      if (!atMax.has(hpa)) {
        const w = hpa.target;
        if (w === undefined || w.pods.length === 0) atMax.set(hpa, undefined);
        else {
          const { pods, mine } = atCount(cluster.pods, w, hpa.maxReplicas);
          atMax.set(hpa, { plan: provision(pods), pods: mine });
        }
      }
      return atMax.get(hpa);
    },
    poolCpuAtMax() {
      if (poolCpu === undefined) {
        let pods: readonly Pod[] = cluster.pods;
        for (const hpa of graph.hpas) {
          const w = hpa.target;
          if (w !== undefined && w.pods.length > 0 && hpa.maxReplicas > w.pods.length)
            pods = atCount(pods, w, hpa.maxReplicas).pods;
        }
        const plan = provision(pods);
        poolCpu = new Map();
        for (const n of cluster.nodes)
          if (n.nodePool !== undefined)
            poolCpu.set(
              n.nodePool,
              (poolCpu.get(n.nodePool) ?? 0) + (n.capacity.cpuMillis ?? n.allocatable.cpuMillis ?? 0),
            );
        for (const c of plan.nodeClaims) {
          const type = (input.instanceTypes[c.nodePool] ?? []).find((t) => t.name === c.instanceType);
          const cpu = type?.capacity.cpuMillis ?? type?.allocatable.cpuMillis ?? 0;
          poolCpu.set(c.nodePool, (poolCpu.get(c.nodePool) ?? 0) + cpu);
        }
      }
      return poolCpu;
    },
  };
  return plans;
}

/** Rounds $/h to a millionth of a dollar: sums of floats would otherwise print as 0.30000000000000004. */
export const roundDollars = (x: number) => Math.round(x * 1e6) / 1e6;

/** Savings blocked per draft (for drafts with a blocker), and with every blocker relaxed at once. */
export interface Savings {
  perDraft: Map<Draft, number>;
  total?: number;
}

/**
 * Runs the controller's loop to its fixed point as the cluster is, and with each rule's blockers
 * relaxed (all of them together). A rule's savings are shared among its findings by the commands of
 * the relaxed run that touch what each protects (its pods evicted, its NodePool's nodes removed),
 * scaled so that they add up to the rule's total.
 */
export function savingsBlocked(
  input: DoctorInput,
  solver: Solver,
  blocked: readonly { rule: string; draft: Draft & { blocker: Blocker } }[],
): Savings {
  const perDraft = new Map<Draft, number>();
  const { cluster } = input;
  if (blocked.length === 0 || !cluster.nodes.some((n) => n.nodePool !== undefined && !n.inFlight))
    return { perDraft };
  const base: Relaxable = {
    pods: cluster.pods,
    nodePools: cluster.nodePools,
    pdbs: cluster.podDisruptionBudgets,
  };
  const run = (m: Relaxable): LoopResult =>
    solver.consolidateToFixedPoint({
      nodes: cluster.nodes,
      pods: m.pods,
      nodePools: m.nodePools,
      instanceTypes: input.instanceTypes as ProvisioningInput["instanceTypes"],
      daemonSets: cluster.daemonSets,
      pdbs: m.pdbs,
      now: input.now,
      options: { strategy: "nodeplan" },
    });
  const baseline = run(base).final.costPerHour;
  const nodePool = new Map(cluster.nodes.map((n) => [n.name, n.nodePool]));

  const byRule = new Map<string, (Draft & { blocker: Blocker })[]>();
  for (const { rule, draft } of blocked) byRule.set(rule, [...(byRule.get(rule) ?? []), draft]);
  for (const drafts of byRule.values()) {
    const relaxed = run(drafts.reduce((m, d) => d.blocker.relax(m), base));
    const total = Math.max(0, baseline - relaxed.final.costPerHour);
    const weight = new Map<Draft, number>(drafts.map((d) => [d, 0]));
    for (const pass of relaxed.passes)
      for (const c of pass.commands) {
        for (const r of c.replacements) nodePool.set(r.name, r.nodePool);
        if (c.savingsPerHour <= 0) continue;
        const evicted = new Set(c.evictions);
        const pools = new Set(c.candidates.map((n) => nodePool.get(n)));
        const touched = drafts.filter(
          (d) =>
            [...(d.blocker.pods ?? [])].some((p) => evicted.has(p)) ||
            [...(d.blocker.pools ?? [])].some((p) => pools.has(p)),
        );
        for (const d of touched) weight.set(d, (weight.get(d) ?? 0) + c.savingsPerHour / touched.length);
      }
    const sum = [...weight.values()].reduce((s, x) => s + x, 0);
    for (const d of drafts)
      perDraft.set(d, roundDollars(sum > 0 ? (total * (weight.get(d) ?? 0)) / sum : total / drafts.length));
  }
  const all = run(blocked.reduce((m, { draft }) => draft.blocker.relax(m), base));
  return { perDraft, total: roundDollars(Math.max(0, baseline - all.final.costPerHour)) };
}
