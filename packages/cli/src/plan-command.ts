import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { offlineCatalogSource, parseEC2NodeClass } from "@nodeplan/aws-provider";
import {
  type CapacityType,
  type ClusterState,
  createSolver,
  type InstanceType,
  isInputValidationError,
  type Node,
  type NodePool,
  NodePoolSchema,
  type Plan,
  parseCatalog,
  renderInputError,
} from "@nodeplan/core";
import { loadManifests, renderLoadWarning, toNodeClaimManifests, toYaml } from "@nodeplan/k8s-adapter";

/** Options of `nodeplan plan`. */
export interface PlanOptions {
  catalog?: string;
  zones?: string;
  capacityTypes?: string;
  now?: string;
  output?: "text" | "json" | "yaml" | "nodeclaims";
  maxReplicasFromHpa?: boolean;
  failOnUnschedulable?: boolean;
}

/** An error that ends the command with exit code 2 and a message, never a stack trace. */
export class UsageError extends Error {}

/** Reads manifest files: files as given, directories' *.yaml|*.yml|*.json sorted by name, `-` for stdin. */
export function readInputs(paths: readonly string[]): { source: string; text: string }[] {
  const out: { source: string; text: string }[] = [];
  for (const path of paths) {
    if (path === "-") {
      out.push({ source: "stdin", text: readFileSync(0, "utf8") });
      continue;
    }
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      throw new UsageError(`${path}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      const files = readdirSync(path)
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort();
      for (const f of files) out.push({ source: join(path, f), text: readFileSync(join(path, f), "utf8") });
    } else {
      out.push({ source: path, text: readFileSync(path, "utf8") });
    }
  }
  return out;
}

/** What the plan command computed, for rendering. */
export interface PlanRun {
  plan: Plan;
  cluster: ClusterState;
  notes: string[];
}

/** Loads manifests, builds the catalog per NodePool, and plans. */
export async function runPlan(paths: readonly string[], options: PlanOptions): Promise<PlanRun> {
  const now = options.now ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(now)))
    throw new UsageError(
      `--now ${JSON.stringify(now)} is not a time (use RFC 3339, e.g. 2026-11-01T00:00:00Z)`,
    );
  const loaded = loadManifests(readInputs(paths), {
    now,
    maxReplicasFromHpa: options.maxReplicasFromHpa ?? false,
  });
  const notes = loaded.warnings.map(renderLoadWarning);
  const cluster = loaded.cluster;
  const errors: Plan["errors"] = loaded.errors.map((e) => ({
    source: e.source ?? "input",
    path: e.path.join("."),
    code: e.code,
    message: renderInputError(e),
  }));

  let nodePools: NodePool[] = cluster.nodePools;
  if (nodePools.length === 0) {
    nodePools = [NodePoolSchema.parse({ name: "default" })];
    notes.push(
      "no NodePool in the input: planning with a default NodePool (on-demand, any instance type of the catalog)",
    );
  }
  const zones = options.zones
    ?.split(",")
    .map((z) => z.trim())
    .filter((z) => z !== "");
  const capacityTypes = options.capacityTypes?.split(",").map((c) => c.trim()) as CapacityType[] | undefined;
  const instanceTypes: Record<string, InstanceType[]> = {};
  const warnings: Plan["warnings"] = [];
  if (options.catalog !== undefined && options.catalog !== "embedded") {
    if (options.catalog === "aws")
      throw new UsageError(
        "--catalog aws needs the live AWS catalog, which arrives with the AWS launch issue; use `nodeplan catalog refresh` output or the embedded catalog",
      );
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(options.catalog, "utf8"));
    } catch (e) {
      throw new UsageError(`${options.catalog}: ${(e as Error).message}`);
    }
    const catalog = parseCatalog(json, {
      source: options.catalog,
      ...(zones ? { zones } : {}),
      ...(capacityTypes ? { capacityTypes } : {}),
    });
    for (const e of catalog.errors)
      errors.push({
        source: options.catalog,
        path: e.path.join("."),
        code: e.code,
        message: renderInputError(e),
      });
    for (const pool of nodePools) instanceTypes[pool.name] = catalog.instanceTypes;
  } else {
    // The embedded catalog: allocatable follows each NodePool's EC2NodeClass.
    const source = offlineCatalogSource({
      ...(zones ? { zones } : {}),
      capacityTypes: capacityTypes ?? ["on-demand", "spot"],
    });
    for (const pool of nodePools) {
      const ref = pool.template.nodeClassRef;
      const raw = cluster.nodeClasses.find((c) => c.name === ref?.name);
      const nodeClass =
        raw === undefined
          ? undefined
          : parseEC2NodeClass({
              apiVersion: raw.apiVersion,
              kind: raw.kind,
              metadata: { name: raw.name },
              spec: raw.spec,
            });
      instanceTypes[pool.name] = await source.instanceTypes(pool, nodeClass);
      for (const w of source.warnings()) if (!warnings.some((x) => x.code === w.code)) warnings.push(w);
    }
  }
  const nodes = cluster.nodes.map((n) =>
    withPrice(n, instanceTypes[n.nodePool ?? ""] ?? Object.values(instanceTypes).flat()),
  );
  const solver = await createSolver();
  const plan = solver.provision({
    pods: cluster.pods,
    nodes,
    nodePools,
    instanceTypes,
    daemonSets: cluster.daemonSets,
    now,
  });
  plan.warnings.push(...warnings);
  plan.errors.push(...errors);
  return { plan, cluster: { ...cluster, nodes, nodePools }, notes };
}

/** Existing nodes get the catalog price of their type, zone and capacity type when they carry none. */
function withPrice(node: Node, types: readonly InstanceType[]): Node {
  if (node.pricePerHour !== undefined || node.instanceType === undefined) return node;
  const it = types.find((t) => t.name === node.instanceType);
  const offering =
    it?.offerings.find(
      (o) => o.zone === node.zone && o.capacityType === (node.capacityType ?? "on-demand"),
    ) ?? it?.offerings.find((o) => o.capacityType === (node.capacityType ?? "on-demand"));
  return offering === undefined ? node : { ...node, pricePerHour: offering.pricePerHour };
}

const money = (x: number) => `$${x.toFixed(4)}/h`;

/** The human report of a plan. */
export function renderPlanReport(run: PlanRun): string {
  const { plan, cluster } = run;
  const lines: string[] = [];
  const pending = plan.placements.length + plan.unschedulable.length;
  lines.push(
    `nodeplan: ${pending} pending pods, ${cluster.nodes.length} existing nodes, ${cluster.nodePools.length} NodePools`,
  );
  for (const n of run.notes) lines.push(`  note: ${n}`);
  const onExisting = plan.placements.filter((p) => !plan.nodeClaims.some((c) => c.name === p.node)).length;
  lines.push(
    "",
    `placed on existing nodes: ${onExisting}`,
    `placed on new nodes:      ${plan.placements.length - onExisting}`,
  );
  const groups = new Map<string, { count: number; price: number; pods: number }>();
  for (const c of plan.nodeClaims) {
    const key = `${c.nodePool}  ${c.instanceType}  ${c.zone}  ${c.capacityType}`;
    const g = groups.get(key) ?? { count: 0, price: c.pricePerHour, pods: 0 };
    g.count++;
    g.pods += c.pods.length;
    groups.set(key, g);
  }
  if (groups.size > 0) {
    lines.push("", "new nodes (NodePool, instance type, zone, capacity type):");
    for (const [key, g] of [...groups.entries()].sort()) {
      lines.push(`  ${String(g.count).padStart(4)} x ${key}  ${money(g.price)} each, ${g.pods} pods`);
    }
  }
  if (plan.unschedulable.length > 0) {
    lines.push("", `unschedulable: ${plan.unschedulable.length}`);
    for (const u of plan.unschedulable.slice(0, 20)) lines.push(`  ${u.pod}: ${u.message}`);
    if (plan.unschedulable.length > 20)
      lines.push(`  ... and ${plan.unschedulable.length - 20} more (-o json lists all)`);
  }
  const c = plan.cost;
  lines.push(
    "",
    `cost now:      ${money(c.currentPerHour)}`,
    `cost planned:  ${money(c.plannedPerHour)} (+${money(c.newPerHour)} new)`,
    `lower bound:   ${money(c.lowerBoundPerHour)} for the new capacity (${plan.lowerBound.method})` +
      (c.ratio === null ? "" : `; new / bound = ${c.ratio.toFixed(4)}`),
  );
  for (const w of plan.warnings) lines.push(`warning: ${w.message}`);
  for (const e of plan.errors) lines.push(`error: ${e.message}`);
  return `${lines.join("\n")}\n`;
}

/** Renders the chosen output format. */
export function renderPlan(run: PlanRun, output: PlanOptions["output"]): string {
  switch (output ?? "text") {
    case "json":
      return `${JSON.stringify(run.plan, null, 2)}\n`;
    case "yaml":
      return toYaml([run.plan as unknown as Record<string, unknown>]);
    case "nodeclaims":
      return toYaml(
        toNodeClaimManifests(run.plan.nodeClaims, {
          nodePools: run.cluster.nodePools,
          pods: run.cluster.pods,
        }),
      );
    default:
      return renderPlanReport(run);
  }
}

/** Turns any thrown input error into a message (exit code 2 in the caller). */
export function describeFailure(e: unknown): string {
  if (isInputValidationError(e)) return e.errors.map(renderInputError).join("\n");
  if (e instanceof UsageError) return e.message;
  return `unexpected failure: ${(e as Error).message ?? String(e)}`;
}
