import type { Kernel } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { type Node, podKey } from "../model.ts";
import { isReschedulable } from "./candidates.ts";
import type { DisruptionCatalog } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { SIM_PREFIX, simulate } from "./simulate.ts";
import { clusterView } from "./state.ts";

/**
 * The nodes the pods of nodes being deleted are about to move to, node name -> one of those pods
 * (`ns/name`, the first by name). Karpenter's provisioner schedules the pods of deleting nodes together
 * with pending pods and nominates the existing and in-flight nodes they land on
 * (provisioning/provisioner.go Schedule: `pods := append(pendingPods, deletingNodePods...)`), and a
 * nominated node is no disruption candidate: so the replacements of a command still draining are not
 * taken away (as empty, or as underused) before the candidates' pods reach them. Where those pods go is
 * the packing kernel's answer on the cluster without the deleting nodes; pods that need new capacity
 * nominate nothing (that is the provisioner's). Empty when no node being deleted has pods to move.
 */
export function drainingNominations(
  kernel: Kernel,
  input: DisruptionInput,
  catalog: DisruptionCatalog,
): Map<string, string> {
  const draining = new Set<string>();
  for (const n of input.nodes) if (n.deleting) draining.add(n.name);
  const out = new Map<string, string>();
  if (draining.size === 0) return out;
  const holding = new Set<string>();
  for (const p of input.pods)
    if (p.nodeName !== undefined && draining.has(p.nodeName) && isReschedulable(p)) holding.add(p.nodeName);
  if (holding.size === 0) return out;
  const view = clusterView(input.nodes, input.pods);
  const remove: Node[] = [...holding].sort(cmp).map((name) => view.nodes.get(name) as Node);
  const sim = simulate(kernel, input, catalog, view, remove, "bound", { toUninitialized: true });
  const byNode = new Map<string, string[]>();
  for (const p of sim.evicted) {
    const to = sim.placements.get(podKey(p));
    if (to === undefined || to.startsWith(SIM_PREFIX) || holding.has(to)) continue;
    const list = byNode.get(to);
    if (list === undefined) byNode.set(to, [podKey(p)]);
    else list.push(podKey(p));
  }
  for (const [node, pods] of [...byNode].sort((a, b) => cmp(a[0], b[0])))
    out.set(node, pods.sort(cmp)[0] as string);
  return out;
}
