import {
  addResources,
  constraintsOf,
  type DisruptionPlan,
  daemonSetFits,
  exceededResources,
  formatResources,
  formatTaint,
  type InstanceType,
  k8sNameFor,
  type Node,
  nodeAccepts,
  type Plan,
  type Pod,
  type PodConstraints,
  podKey,
  poolAccepts,
  type Resources,
  renderKept,
  renderUnschedulable,
  requirementConflict,
  subtractResources,
  untoleratedPoolTaint,
} from "@nodeplan/core";
import { type LoadedInputs, UsageError } from "./inputs.ts";
import { money } from "./plan-command.ts";

/** Finds a pod by `namespace/name`, or by `name` when one namespace has it. */
export function findPod(pods: readonly Pod[], ref: string): Pod {
  const [ns, name] = ref.includes("/") ? (ref.split("/", 2) as [string, string]) : [undefined, ref];
  const found = pods.filter((p) => p.name === name && (ns === undefined || p.namespace === ns));
  if (found.length === 1) return found[0] as Pod;
  if (found.length > 1)
    throw new UsageError(`pod ${ref} is ambiguous: ${found.map(podKey).join(", ")} (give namespace/name)`);
  const close = pods
    .map(podKey)
    .filter((k) => k.includes(name))
    .slice(0, 5);
  throw new UsageError(
    `no pod ${ref} in the input${close.length > 0 ? ` (did you mean ${close.join(", ")}?)` : ""}; synthesized pods of a workload are named <workload>-<index>`,
  );
}

const req = (r: { key: string; operator: string; values?: readonly string[] }) =>
  `${r.key} ${r.operator}${r.values === undefined || r.values.length === 0 ? "" : ` ${r.values.join(",")}`}`;

/** The pod's scheduling constraints as short lines. */
function constraintLines(pod: Pod): string[] {
  const out = [`requests: ${formatResources(pod.requests)}`];
  const selector = Object.entries(pod.nodeSelector);
  if (selector.length > 0) out.push(`node selector: ${selector.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const terms = pod.requiredNodeAffinity;
  for (const [i, t] of terms.entries())
    out.push(
      `required node affinity${terms.length > 1 ? ` (term ${i + 1}, ORed)` : ""}: ${t.matchExpressions.map(req).join("; ")}`,
    );
  if (pod.volumeRequirements.length > 0)
    out.push(`volume topology: ${pod.volumeRequirements.map(req).join("; ")}`);
  if (pod.tolerations.length > 0)
    out.push(
      `tolerations: ${pod.tolerations
        .map(
          (t) =>
            `${t.key ?? "*"}${t.operator === "Exists" ? " exists" : `=${t.value ?? ""}`}${t.effect ? `:${t.effect}` : ""}`,
        )
        .join(", ")}`,
    );
  for (const t of pod.topologySpreadConstraints)
    out.push(`topology spread: ${t.topologyKey} maxSkew ${t.maxSkew} (${t.whenUnsatisfiable})`);
  for (const t of pod.podAntiAffinity.required) out.push(`required pod anti-affinity on ${t.topologyKey}`);
  for (const t of pod.podAffinity.required) out.push(`required pod affinity on ${t.topologyKey}`);
  if (pod.annotations["karpenter.sh/do-not-disrupt"] === "true")
    out.push("annotated karpenter.sh/do-not-disrupt");
  return out;
}

/** What bound pods already request on each node. */
function requestedByNode(pods: readonly Pod[]): Map<string, Resources> {
  const used = new Map<string, Resources>();
  for (const p of pods)
    if (p.nodeName !== undefined && !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed")
      used.set(p.nodeName, addResources(used.get(p.nodeName) ?? {}, p.requests));
  return used;
}

/** How one NodePool's instance types narrow down for these constraints and requests. */
function narrowPool(
  inputs: LoadedInputs,
  poolName: string,
  c: PodConstraints,
  requests: Resources,
): string[] {
  const pool = inputs.cluster.nodePools.find((p) => p.name === poolName);
  if (pool === undefined) return [];
  const head = `NodePool ${pool.name}${pool.weight > 0 ? ` (weight ${pool.weight})` : ""}`;
  const taint = untoleratedPoolTaint(c, pool);
  if (taint !== undefined)
    return [`${head}: ruled out, the pod does not tolerate its taint ${formatTaint(taint)}`];
  const types = inputs.instanceTypes[pool.name] ?? [];
  const conflicts = new Map<string, number>();
  const tooSmall = new Map<string, number>();
  const matching: InstanceType[] = [];
  let cheapest: { it: string; zone: string; capacityType: string; price: number } | undefined;
  let fitting = 0;
  for (const it of types) {
    const offerings = it.offerings.filter((o) => o.available && poolAccepts(pool, it, o));
    const accepted = offerings.filter((o) => requirementConflict(c, pool, it, o) === undefined);
    if (accepted.length === 0) {
      const first = offerings[0] ?? it.offerings[0];
      const conflict = first === undefined ? undefined : requirementConflict(c, pool, it, first);
      const key = offerings.length === 0 ? "no available offering" : (conflict?.key ?? "requirements");
      conflicts.set(key, (conflicts.get(key) ?? 0) + 1);
      continue;
    }
    matching.push(it);
    const o = accepted[0];
    const overhead = inputs.cluster.daemonSets
      .filter((ds) => o !== undefined && daemonSetFits(ds, pool, it, o))
      .reduce<Resources>((sum, ds) => addResources(sum, ds.requests), {});
    const exceeded = exceededResources(requests, subtractResources(it.allocatable, overhead));
    if (exceeded.length > 0) {
      for (const k of exceeded) tooSmall.set(k, (tooSmall.get(k) ?? 0) + 1);
      continue;
    }
    fitting++;
    for (const off of accepted)
      if (cheapest === undefined || off.pricePerHour < cheapest.price)
        cheapest = { it: it.name, zone: off.zone, capacityType: off.capacityType, price: off.pricePerHour };
  }
  const counts = (m: Map<string, number>, what: string) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${n} by ${what === "" ? k : `${what} ${k8sNameFor(k)}`}`)
      .join(", ");
  const lines = [
    `${head}: ${types.length} instance types allowed by the NodePool`,
    `  -> ${matching.length} match the pod's requirements${conflicts.size > 0 ? ` (ruled out: ${counts(conflicts, "")})` : ""}`,
    `  -> ${fitting} have room for its requests next to the DaemonSets${tooSmall.size > 0 ? ` (too small: ${counts(tooSmall, "not enough")})` : ""}`,
  ];
  if (cheapest !== undefined)
    lines.push(
      `  -> cheapest alone: ${cheapest.it} in ${cheapest.zone} (${cheapest.capacityType}) at ${money(cheapest.price)}`,
    );
  return lines;
}

/** How many instance types EC2 is offered at launch (the AWS provider's CreateFleet override cap). */
const LAUNCH_OPTIONS = 60;

/**
 * A claim's instance-type options as Karpenter uses them: the NodeClaim lists them cheapest first, the
 * launch hands the cheapest 60 to EC2, which starts the cheapest one it has capacity for. The worst
 * launch price is the most expensive of those, paid only if every cheaper one were unavailable: the
 * figure Karpenter compares with to be sure a consolidation saves money, not the expected price.
 */
function launchOptions(claim: Plan["nodeClaims"][number]): string {
  const n = claim.instanceTypeOptions.length;
  const shown = claim.instanceTypeOptions.slice(0, 6).join(", ");
  const head =
    n === 1
      ? `launches as ${claim.instanceType} only`
      : `may launch as any of ${n} instance types, cheapest first (${shown}${n > 6 ? ", ..." : ""}); EC2 is offered the cheapest ${Math.min(n, LAUNCH_OPTIONS)} and starts the cheapest it has capacity for`;
  return claim.worstPricePerHour > claim.pricePerHour + 1e-9
    ? `${head}; ${money(claim.pricePerHour)} expected, ${money(claim.worstPricePerHour)} only if every cheaper option were unavailable (the worst launch price, which consolidation compares against)`
    : head;
}

/** Why a pod goes where it goes, or why it cannot. */
export function explainPod(
  inputs: LoadedInputs,
  plan: Plan,
  ref: string,
  disruption?: DisruptionPlan,
): string {
  const pod = findPod(inputs.cluster.pods, ref);
  const key = podKey(pod);
  const lines = [`pod ${key}${pod.owner ? ` (${pod.owner.kind} ${pod.owner.name})` : ""}`];
  lines.push(...constraintLines(pod).map((l) => `  ${l}`), "");
  const nodes = new Map(inputs.cluster.nodes.map((n) => [n.name, n]));
  if (pod.nodeName !== undefined) {
    const node = nodes.get(pod.nodeName);
    lines.push(
      `bound to node ${pod.nodeName}${node ? ` (${describeNode(node)})` : ""}, phase ${pod.phase}: not pending, so provisioning leaves it where it is`,
    );
    const command = disruption?.commands.find((c) => c.evictions.includes(key));
    if (command !== undefined)
      lines.push(
        `consolidation: evicted in wave ${command.wave} (${command.method}: ${command.reason}) when ${command.candidates.join(", ")} ${command.candidates.length > 1 ? "go" : "goes"}`,
      );
    return `${lines.join("\n")}\n`;
  }
  if (!pod.provisionable) {
    lines.push(
      "pending but not provisionable: its status says kube-scheduler has not marked it Unschedulable (or it is gated, nominated, or a DaemonSet pod), so Karpenter would not launch capacity for it (a Pod with no status at all is planned as pending)",
    );
    return `${lines.join("\n")}\n`;
  }
  const c = constraintsOf(pod);
  const placement = plan.placements.find((p) => p.pod === key);
  const unschedulable = plan.unschedulable.find((u) => u.pod === key);
  const claim = plan.nodeClaims.find((n) => n.name === placement?.node);
  if (claim !== undefined) {
    lines.push(
      `goes to new node ${claim.name}: NodePool ${claim.nodePool}, ${claim.instanceType} in ${claim.zone} (${claim.capacityType}) at ${money(claim.pricePerHour)}, shared with ${claim.pods.length - 1} other pods`,
      `  ${launchOptions(claim)}`,
      `  (the claim's pods together request ${formatResources(
        inputs.cluster.pods
          .filter((p) => claim.pods.includes(podKey(p)))
          .reduce<Resources>((s, p) => addResources(s, p.requests), claim.daemonSetOverhead),
      )} with DaemonSets)`,
    );
  } else if (placement !== undefined) {
    const node = nodes.get(placement.node);
    lines.push(
      `goes to existing node ${placement.node}${node ? ` (${describeNode(node)})` : ""}: it has room, so nothing new is launched for it`,
    );
  } else if (unschedulable !== undefined) {
    lines.push(
      `cannot be placed: ${renderUnschedulable(unschedulable.reason)} [${unschedulable.reason.code}]`,
    );
  }

  const used = requestedByNode(inputs.cluster.pods);
  const accepting = inputs.cluster.nodes.filter((n) => !n.deleting && !n.unschedulable && nodeAccepts(c, n));
  const roomy = accepting.filter(
    (n) =>
      exceededResources(pod.requests, subtractResources(n.allocatable, used.get(n.name) ?? {})).length === 0,
  );
  lines.push(
    "",
    "how the options narrowed:",
    `existing nodes: ${inputs.cluster.nodes.length} -> ${accepting.length} tolerated and matching -> ${roomy.length} with room before this plan${
      roomy.length > 0
        ? ` (${roomy
            .slice(0, 4)
            .map((n) => n.name)
            .join(", ")}${roomy.length > 4 ? ", ..." : ""})`
        : ""
    }`,
  );
  const pools = [...inputs.cluster.nodePools].sort(
    (a, b) => b.weight - a.weight || a.name.localeCompare(b.name),
  );
  for (const pool of pools) lines.push(...narrowPool(inputs, pool.name, c, pod.requests));
  return `${lines.join("\n")}\n`;
}

function describeNode(n: Node): string {
  return [
    n.instanceType,
    n.zone,
    n.capacityType,
    n.nodePool === undefined ? "not managed by a NodePool" : `NodePool ${n.nodePool}`,
    n.pricePerHour === undefined ? undefined : money(n.pricePerHour),
  ]
    .filter((x) => x !== undefined)
    .join(", ");
}

const pct = (used: number | undefined, total: number | undefined) =>
  total === undefined || total === 0 ? "n/a" : `${Math.round((100 * (used ?? 0)) / total)}%`;

/** Why a node stays or goes (existing nodes), or what a planned NodeClaim holds. */
export function explainNode(
  inputs: LoadedInputs,
  plan: Plan,
  name: string,
  disruption?: DisruptionPlan,
): string {
  const claim =
    plan.nodeClaims.find((c) => c.name === name) ??
    disruption?.commands.flatMap((c) => c.replacements).find((c) => c.name === name);
  if (claim !== undefined) {
    return `${[
      `new node ${claim.name} (planned NodeClaim of NodePool ${claim.nodePool})`,
      `  ${claim.instanceType} in ${claim.zone} (${claim.capacityType}) at ${money(claim.pricePerHour)}`,
      `  ${launchOptions(claim)}`,
      `  requirements: ${claim.requirements.map(req).join("; ")}`,
      `  DaemonSet overhead: ${formatResources(claim.daemonSetOverhead)}`,
      `  pods (${claim.pods.length}): ${claim.pods.slice(0, 10).join(", ")}${claim.pods.length > 10 ? ", ..." : ""}`,
    ].join("\n")}\n`;
  }
  const node = inputs.cluster.nodes.find((n) => n.name === name);
  if (node === undefined) {
    const names = [...inputs.cluster.nodes.map((n) => n.name), ...plan.nodeClaims.map((c) => c.name)];
    throw new UsageError(
      `no node ${name} in the input or the plan (nodes: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", ..." : ""})`,
    );
  }
  const bound = inputs.cluster.pods.filter((p) => p.nodeName === name);
  const requested = requestedByNode(bound).get(name) ?? {};
  const incoming = plan.placements.filter((p) => p.node === name).map((p) => p.pod);
  const lines = [
    `node ${name}${node.inFlight ? " (in-flight NodeClaim)" : ""}: ${describeNode(node)}`,
    `  allocatable: ${formatResources(node.allocatable)}`,
    `  requested:   ${formatResources(requested)} (cpu ${pct(requested.cpuMillis, node.allocatable.cpuMillis)}, memory ${pct(requested.memoryBytes, node.allocatable.memoryBytes)})`,
    `  pods (${bound.length}): ${bound
      .slice(0, 10)
      .map((p) => `${podKey(p)}${p.daemonSet ? " (DaemonSet)" : ""}`)
      .join(", ")}${bound.length > 10 ? ", ..." : ""}`,
  ];
  if (incoming.length > 0)
    lines.push(
      `  this plan adds ${incoming.length} pending pods: ${incoming.slice(0, 6).join(", ")}${incoming.length > 6 ? ", ..." : ""}`,
    );
  if (disruption === undefined) {
    lines.push("", "disruption: not evaluated");
    return `${lines.join("\n")}\n`;
  }
  const command = disruption.commands.find((c) => c.candidates.includes(name));
  const kept = disruption.kept.find((k) => k.node === name);
  lines.push("");
  if (command !== undefined) {
    lines.push(
      `goes: wave ${command.wave}, ${command.method} (${command.reason})${command.candidates.length > 1 ? ` together with ${command.candidates.filter((n) => n !== name).join(", ")}` : ""}`,
      `  replaced by: ${command.replacements.length === 0 ? "nothing (its pods fit elsewhere)" : command.replacements.map((r) => `${r.name} ${r.instanceType} ${r.capacityType} ${money(r.pricePerHour)}`).join(", ")}`,
      `  evicts ${command.evictions.length} pods; saves ${money(command.savingsPerHour)}; budget of NodePool ${command.budget.nodePool} (${command.budget.reason})`,
    );
  } else if (kept !== undefined) {
    lines.push(`stays: ${renderKept(kept.reason)} [${kept.reason.code}]`);
  } else {
    lines.push("stays: no disruption method applies to it at this time");
  }
  return `${lines.join("\n")}\n`;
}
