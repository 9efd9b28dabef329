import {
  type EC2NodeClass,
  ec2NodeClassOf,
  filterInstanceTypes,
  markExotic,
  type NodeCostOptions,
  nodePoolRequirements,
  OFFLINE_PRICE_REGION,
  offlineCatalogSource,
  withAwsNodeCosts,
} from "@nodeplan/aws-provider";
import {
  type CapacityType,
  CapacityTypeSchema,
  type CatalogSource,
  type ClusterState,
  createSolver,
  type DisruptionPlan,
  formatPath,
  type InputError,
  type InstanceType,
  isInputValidationError,
  type NodePool,
  NodePoolSchema,
  type Plan,
  type PlanError,
  parseCatalog,
  parseFeePerHour,
  renderInputError,
  type Solver,
  type Warning,
  WarningSchema,
  withCatalogPrice,
} from "@nodeplan/core";
import { loadManifests, type ManifestInput, renderLoadWarning } from "@nodeplan/k8s-adapter";

/**
 * Input preparation shared by the CLI and the playground, over texts (file name + content): the
 * manifests, the defaults (NodePool, time, zones, capacity types), the catalog per NodePool and the
 * prices of existing nodes, then planning. Browser-safe: no Node built-ins, no `process`; reading
 * files, stdin and the live AWS catalog stay in the CLI (inputs.ts).
 */

/** An error that ends the command (exit code 2) or the page's run with a message, never a stack trace. */
export class UsageError extends Error {}

/** A progress indicator: `step(label)` names the current phase (the CLI's spinner). */
export interface Progress {
  step(label: string): void;
  /** Lets the indicator draw before synchronous work (one macrotask). */
  yield(): Promise<void>;
}

/** The options of planning over manifests, as given on a command line or a form. */
export interface PrepareOptions {
  zones?: string;
  capacityTypes?: string;
  /** RFC 3339; default the current time. */
  now?: string;
  maxReplicasFromHpa?: boolean;
  /** Per-node costs (see `NodeCostOptions`): --public-ipv4, --burstable-credits, --burstable-load, --node-fee. */
  publicIpv4?: boolean;
  burstableCredits?: string;
  burstableLoad?: string;
  nodeFee?: string;
  /** What error messages call the options (default the CLI's flags: --now, --capacity-types, --catalog). */
  names?: { now?: string; capacityTypes?: string; catalog?: string };
}

/** What is offered: the zones and capacity types (undefined = the catalog's own, on-demand and spot). */
export interface Offer {
  zones: string[] | undefined;
  capacityTypes: CapacityType[] | undefined;
  /** What every node costs beyond its instance, folded into offering prices. */
  nodeCosts?: NodeCostOptions;
}

/** The options, checked and normalised. */
export interface Prepared extends Offer {
  nodeCosts: NodeCostOptions;
  now: string;
  maxReplicasFromHpa: boolean;
  names: Required<NonNullable<PrepareOptions["names"]>>;
}

/** Everything a command plans over: the cluster, the catalog per NodePool, and what was wrong. */
export interface LoadedInputs {
  now: string;
  /** Nodes carry catalog prices; NodePools include the default one when the input has none. */
  cluster: ClusterState;
  instanceTypes: Record<string, InstanceType[]>;
  warnings: Warning[];
  /** Rejected inputs (the rest is still used); any of them makes the CLI's exit code 2. */
  errors: PlanError[];
  /** Things the user should know (the CLI prints them on stderr): load warnings, the default NodePool. */
  notes: string[];
}

/** An opened catalog: instance types per NodePool and node class, and the warnings plans must carry. */
export interface CatalogChoice {
  region: string;
  source: CatalogSource<EC2NodeClass>;
  warnings(): Warning[];
}

/**
 * Where the catalog comes from: the embedded offline table, a catalog JSON text (a `nodeplan catalog
 * refresh` file), or an opener called once the manifests are read (the CLI's live catalog and files).
 */
export type CatalogSpec =
  | "embedded"
  | ManifestInput
  | ((offer: Offer, errors: PlanError[]) => Promise<CatalogChoice>);

/** Comma-separated items, trimmed, empty ones dropped. */
export const parseList = (s: string | undefined) =>
  s
    ?.split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

/** Parses --capacity-types, naming the bad value. */
export function parseCapacityTypes(
  value: string | undefined,
  name = "--capacity-types",
): CapacityType[] | undefined {
  const items = parseList(value);
  if (items === undefined) return undefined;
  for (const c of items)
    if (!CapacityTypeSchema.safeParse(c).success)
      throw new UsageError(
        `${name}: ${JSON.stringify(c)} is not a capacity type (use ${CapacityTypeSchema.options.join(", ")})`,
      );
  return items as CapacityType[];
}

/** Parses --now (RFC 3339); the current time when absent. */
export function parseNow(value: string | undefined, flag = "--now"): string {
  const now = value ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(now)))
    throw new UsageError(
      `${flag} ${JSON.stringify(now)} is not a time (use RFC 3339, e.g. 2026-11-01T00:00:00Z)`,
    );
  return new Date(now).toISOString();
}

/** Checks and normalises the options (before anything is read, so a bad flag is reported first). */
export function prepareOptions(options: PrepareOptions): Prepared {
  const names = {
    now: options.names?.now ?? "--now",
    capacityTypes: options.names?.capacityTypes ?? "--capacity-types",
    catalog: options.names?.catalog ?? "--catalog",
  };
  return {
    now: parseNow(options.now, names.now),
    capacityTypes: parseCapacityTypes(options.capacityTypes, names.capacityTypes),
    zones: parseList(options.zones),
    maxReplicasFromHpa: options.maxReplicasFromHpa ?? false,
    nodeCosts: parseNodeCosts(options),
    names,
  };
}

/** Parses the per-node cost flags, naming a bad value. */
export function parseNodeCosts(options: PrepareOptions): NodeCostOptions {
  const out: NodeCostOptions = {};
  if (options.publicIpv4 !== undefined) out.publicIpv4 = options.publicIpv4;
  const credits = options.burstableCredits;
  if (credits !== undefined) {
    if (credits !== "default" && credits !== "unlimited" && credits !== "standard")
      throw new UsageError(
        `--burstable-credits: ${JSON.stringify(credits)} is not a credit specification (use default, unlimited or standard)`,
      );
    out.credits = credits;
  }
  if (options.burstableLoad !== undefined) {
    const load = Number(options.burstableLoad);
    if (!(load > 0 && load <= 1))
      throw new UsageError(
        `--burstable-load: ${JSON.stringify(options.burstableLoad)} must be a share of the requested CPU in (0, 1], e.g. 0.3`,
      );
    out.burstableLoad = load;
  }
  if (options.nodeFee !== undefined) {
    const fee = parseFeePerHour(options.nodeFee);
    if (fee === undefined)
      throw new UsageError(
        `--node-fee: ${JSON.stringify(options.nodeFee)} is not an amount in dollars per hour (e.g. 0.012)`,
      );
    out.feePerHour = fee;
  }
  return out;
}

/**
 * An input error located for people: `file, document N[, items[i]]: Kind ns/name: field ...`. The
 * adapter's paths start with the document index (then `items`, i inside a List), the rest is the field.
 */
export function renderLocatedError(error: InputError): string {
  const [doc, ...rest] = error.path;
  if (typeof doc !== "number" || error.source === undefined) return renderInputError(error);
  let where = `${error.source}, document ${doc + 1}`;
  while (rest[0] === "items" && typeof rest[1] === "number") {
    where += `, items[${rest[1]}]`;
    rest.splice(0, 2);
  }
  return renderInputError({ ...error, source: where, path: rest });
}

/** An input error as the Plan's `errors` entry. */
export function toPlanError(error: InputError, fallbackSource = "input"): PlanError {
  return {
    source: error.source ?? fallbackSource,
    path: formatPath(error.path),
    code: error.code,
    message: renderLocatedError(error),
  };
}

/** Turns any thrown failure into one message (exit code 2 in the CLI), never a stack trace. */
export function describeFailure(e: unknown): string {
  if (isInputValidationError(e)) return e.errors.map(renderLocatedError).join("\n");
  if (e instanceof UsageError) return e.message;
  return `unexpected failure: ${(e as Error)?.message ?? String(e)}`;
}

/** The default NodePool used when the input has none. */
export const defaultNodePool = (): NodePool => NodePoolSchema.parse({ name: "default" });

/** The embedded offline catalog (on-demand and spot unless told otherwise). */
export function embeddedCatalog({ zones, capacityTypes, nodeCosts }: Offer): CatalogChoice {
  const source = offlineCatalogSource({
    ...(zones ? { zones } : {}),
    capacityTypes: capacityTypes ?? ["on-demand", "spot"],
    ...(nodeCosts === undefined ? {} : { nodeCosts }),
  });
  return { region: OFFLINE_PRICE_REGION, source, warnings: () => source.warnings() };
}

/**
 * A catalog JSON text, filtered per NodePool. Entries it rejects land in `errors` (the rest is used); a
 * text that is not JSON or not a catalog is a UsageError naming it (`<name> <source>: ...`).
 */
export function catalogFromText(
  file: ManifestInput,
  { zones, capacityTypes, nodeCosts }: Offer,
  errors: PlanError[],
  name = "--catalog",
): CatalogChoice {
  let json: unknown;
  try {
    json = JSON.parse(file.text);
  } catch (e) {
    throw new UsageError(`${name} ${file.source}: ${(e as Error).message}`);
  }
  let parsed: ReturnType<typeof parseCatalog>;
  try {
    parsed = parseCatalog(json, {
      source: file.source,
      ...(zones ? { zones } : {}),
      ...(capacityTypes ? { capacityTypes } : {}),
    });
  } catch (e) {
    if (isInputValidationError(e)) throw new UsageError(e.errors.map(renderInputError).join("\n"));
    throw e;
  }
  for (const e of parsed.errors) errors.push(toPlanError({ ...e, source: e.source ?? file.source }));
  // Files written by `nodeplan catalog refresh` carry the warnings plans made from them must carry.
  const carried = WarningSchema.array().safeParse((json as { warnings?: unknown }).warnings);
  const warnings = carried.success ? carried.data : [];
  return {
    region: parsed.region,
    source: {
      // Priced per NodePool and node class with the node's per-node costs; exotic types marked.
      instanceTypes: async (pool, nodeClass) =>
        withAwsNodeCosts(
          markExotic(filterInstanceTypes(parsed.instanceTypes, nodePoolRequirements(pool))),
          pool,
          nodeClass,
          nodeCosts,
        ),
    },
    warnings: () => warnings,
  };
}

/** Loads manifests, adds the default NodePool when needed, and reads the catalog for every NodePool. */
export async function prepareInputs(
  texts: readonly ManifestInput[],
  options: Prepared,
  catalog: CatalogSpec = "embedded",
  progress?: Pick<Progress, "step">,
): Promise<LoadedInputs> {
  const { now, capacityTypes } = options;
  const offer: Offer = { zones: options.zones, capacityTypes, nodeCosts: options.nodeCosts };
  const loaded = loadManifests(texts, { now, maxReplicasFromHpa: options.maxReplicasFromHpa });
  const notes = loaded.warnings.map(renderLoadWarning);
  const cluster = loaded.cluster;
  const errors = loaded.errors.map((e) => toPlanError(e));

  let nodePools: NodePool[] = cluster.nodePools;
  if (nodePools.length === 0) {
    nodePools = [defaultNodePool()];
    notes.push(
      `no NodePool in the input: planning with a default NodePool "default" (no requirements: any instance type, ${
        capacityTypes?.join(" or ") ?? "on-demand or spot"
      }, every zone of the catalog)`,
    );
  }

  progress?.step("reading the instance catalog");
  const opened =
    catalog === "embedded"
      ? embeddedCatalog(offer)
      : typeof catalog === "function"
        ? await catalog(offer, errors)
        : catalogFromText(catalog, offer, errors, options.names.catalog);
  const instanceTypes: Record<string, InstanceType[]> = {};
  const warnings: Warning[] = [];
  for (const pool of nodePools) {
    instanceTypes[pool.name] = await opened.source.instanceTypes(pool, nodeClassOf(cluster, pool));
    for (const w of opened.warnings()) if (!warnings.some((x) => x.code === w.code)) warnings.push(w);
  }
  const byName = new Map(
    Object.values(instanceTypes).flatMap((types) => types.map((t) => [t.name, t] as const)),
  );
  const nodes = cluster.nodes.map((n) => withCatalogPrice(n, byName));
  return { now, cluster: { ...cluster, nodes, nodePools }, instanceTypes, warnings, errors, notes };
}

/** The NodePool's EC2NodeClass (allocatable follows its AMI family, kubelet settings and volumes). */
function nodeClassOf(cluster: ClusterState, pool: NodePool): EC2NodeClass | undefined {
  const raw = cluster.nodeClasses.find((c) => c.name === pool.template.nodeClassRef?.name);
  return raw === undefined ? undefined : ec2NodeClassOf(raw);
}

let solver: Promise<Solver> | undefined;
/** The solver, made once (the kernel is instantiated on first use). */
export function loadSolver(): Promise<Solver> {
  solver ??= createSolver().catch((e: unknown) => {
    solver = undefined;
    throw e;
  });
  return solver;
}

/** Plans new capacity over prepared inputs, carrying their warnings and errors into the plan. */
export async function planFor(inputs: LoadedInputs, progress?: Progress): Promise<Plan> {
  const { cluster } = inputs;
  const pending = cluster.pods.filter((p) => p.nodeName === undefined && p.provisionable).length;
  progress?.step(`planning ${pending} pending pods`);
  await progress?.yield();
  const plan = (await loadSolver()).provision({
    pods: cluster.pods,
    nodes: cluster.nodes,
    nodePools: cluster.nodePools,
    instanceTypes: inputs.instanceTypes,
    daemonSets: cluster.daemonSets,
    now: inputs.now,
  });
  plan.warnings.push(...inputs.warnings);
  plan.errors.push(...inputs.errors);
  return plan;
}

/** Disruption strategies: nodeplan's global consolidation, or Karpenter's algorithm. */
export type Strategy = "nodeplan" | "karpenter";

/** Plans disruption over prepared inputs (at `inputs.now`), carrying their warnings and errors. */
export async function disruptionFor(
  inputs: LoadedInputs,
  strategy: Strategy = "nodeplan",
  progress?: Progress,
): Promise<DisruptionPlan> {
  const { cluster } = inputs;
  progress?.step(`planning disruption of ${cluster.nodes.length} nodes`);
  await progress?.yield();
  const plan = (await loadSolver()).planDisruption({
    nodes: cluster.nodes,
    pods: cluster.pods,
    nodePools: cluster.nodePools,
    instanceTypes: inputs.instanceTypes,
    daemonSets: cluster.daemonSets,
    pdbs: cluster.podDisruptionBudgets,
    now: inputs.now,
    options: { strategy },
  });
  plan.warnings.push(...inputs.warnings.filter((w) => !plan.warnings.some((x) => x.code === w.code)));
  plan.errors.push(...inputs.errors);
  return plan;
}
