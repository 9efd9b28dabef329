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
  type DisruptionInput,
  type DisruptionPlan,
  formatPath,
  type InputError,
  type InstanceType,
  isInputValidationError,
  type LoopResult,
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
import {
  type InputNotice,
  type KindSchemas,
  type LoadSummary,
  loadManifests,
  type ManifestGraph,
  type ManifestInput,
  readDocuments,
  renderLoadSummary,
  renderLoadWarning,
} from "@nodeplan/k8s-adapter";

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
  /** Unknown fields and kinds are errors and their objects are not used (the CLI's --strict). */
  strict?: boolean;
  /** Plan without the NodePools and node classes that are invalid, instead of stopping. */
  skipInvalidNodePools?: boolean;
  /** Loads the Kubernetes and Karpenter schemas for the kinds of the input (unknown fields, kinds). */
  schemas?: SchemaLoader;
  /** Per-node costs (see `NodeCostOptions`): --public-ipv4, --burstable-credits, --burstable-load, --node-fee. */
  publicIpv4?: boolean;
  burstableCredits?: string;
  burstableLoad?: string;
  nodeFee?: string;
  /** What error messages call the options (default the CLI's flags: --now, --capacity-types, --catalog). */
  names?: {
    now?: string;
    capacityTypes?: string;
    catalog?: string;
    zones?: string;
    skipInvalidNodePools?: string;
  };
}

/** Loads the schemas for the apiVersion/kind pairs of an input (the CLI imports them kind by kind). */
export type SchemaLoader = (pairs: { apiVersion: string; kind: string }[]) => Promise<KindSchemas>;

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
  strict: boolean;
  skipInvalidNodePools: boolean;
  schemas: SchemaLoader | undefined;
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
  /** What was read, ignored and rejected; `summaryLine` is its one line. */
  summary: LoadSummary;
  summaryLine: string;
  /** Every document and object read, as written (what `nodeplan doctor` checks). */
  graph: ManifestGraph;
  /** The texts read (`nodeplan doctor` finds the line of each field in them). */
  texts: readonly ManifestInput[];
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
    zones: options.names?.zones ?? "--zones",
    skipInvalidNodePools: options.names?.skipInvalidNodePools ?? "--skip-invalid-nodepools",
  };
  return {
    now: parseNow(options.now, names.now),
    capacityTypes: parseCapacityTypes(options.capacityTypes, names.capacityTypes),
    zones: parseList(options.zones),
    maxReplicasFromHpa: options.maxReplicasFromHpa ?? false,
    strict: options.strict ?? false,
    skipInvalidNodePools: options.skipInvalidNodePools ?? false,
    schemas: options.schemas,
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
  const message = (e as Error)?.message ?? String(e);
  // The kernel module is generated (npm ci runs it); a checkout that skipped that says so in words.
  if (
    /kernel-wasm/.test(message) &&
    /Cannot find module|ERR_MODULE_NOT_FOUND/.test(`${message} ${(e as { code?: string })?.code ?? ""}`)
  )
    return "the WebAssembly kernel module has not been generated: run `npm ci` (its prepare step generates it) or `npm run generate`";
  return `unexpected failure: ${message}`;
}

/**
 * The NodePool used when the input has none at all: Karpenter's getting-started NodePool
 * (karpenter.sh/docs/getting-started): linux, amd64, on-demand, instance categories c, m and r of
 * generation 3 and later, a 1000-cpu limit, consolidation after 1 minute. Read through the same
 * loader as any manifest.
 */
export const DEFAULT_NODEPOOL_MANIFEST = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: ["amd64"]
        - key: kubernetes.io/os
          operator: In
          values: ["linux"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m", "r"]
        - key: karpenter.k8s.aws/instance-generation
          operator: Gt
          values: ["2"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      expireAfter: 720h
  limits:
    cpu: 1000
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
`;

/** The default NodePool (see DEFAULT_NODEPOOL_MANIFEST). */
export function defaultNodePool(): NodePool {
  const pool = loadManifests([{ source: "default NodePool", text: DEFAULT_NODEPOOL_MANIFEST }]).cluster
    .nodePools[0];
  if (pool === undefined) throw new Error("the default NodePool manifest does not load");
  return pool;
}

/** A NodePool with no requirements: every instance type of a catalog (`catalog show`). */
export const unrestrictedNodePool = (): NodePool => NodePoolSchema.parse({ name: "all" });

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
  // A file's offerings are read at their instance prices: per-node costs depend on the NodePool, its
  // node class and the flags of this run, so they are folded in again below (never twice).
  const instanceTypes = parsed.instanceTypes.map(atInstancePrice);
  return {
    region: parsed.region,
    source: {
      // Priced per NodePool and node class with the node's per-node costs; exotic types marked.
      instanceTypes: async (pool, nodeClass) =>
        withAwsNodeCosts(
          markExotic(filterInstanceTypes(instanceTypes, nodePoolRequirements(pool))),
          pool,
          nodeClass,
          nodeCosts,
        ),
    },
    warnings: () => warnings,
  };
}

/** An instance type whose offerings cost the instance alone (a recorded split dropped). */
function atInstancePrice(type: InstanceType): InstanceType {
  if (!type.offerings.some((o) => o.costs !== undefined)) return type;
  return {
    ...type,
    offerings: type.offerings.map(({ costs, ...o }) =>
      costs === undefined ? o : { ...o, pricePerHour: costs.instancePerHour },
    ),
  };
}

const noticeText: Record<InputNotice["code"], (source: string) => string> = {
  empty_input: (source) => `${source}: empty, nothing read`,
  not_kubernetes: (source) => `${source}: not a Kubernetes object (no apiVersion and kind), ignored`,
  helm_template: (source) =>
    `${source}: a Helm template ({{ ... }}): render it first, e.g. \`helm template <release> <chart> | nodeplan plan -\``,
  kustomization: (source) => {
    const file = source.replace(/, document \d+$/, "");
    const slash = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
    const dir = slash < 0 ? "." : file.slice(0, slash);
    return `${source}: a kustomization: its folder is read as \`kubectl kustomize\` renders it, not file by file; run \`kubectl kustomize ${dir} | nodeplan plan -\``;
  },
};

/** A notice about an input (or a document of it) as the sentence the CLI prints. */
export function renderNotice(notice: InputNotice): string {
  return noticeText[notice.code](
    notice.document === undefined ? notice.source : `${notice.source}, document ${notice.document + 1}`,
  );
}

/** An input error is about a NodePool or a node class: such an error stops the run (unless told otherwise). */
const isNodePoolError = (e: InputError) => /^(NodePool|EC2NodeClass) /.test(e.object ?? "");

/**
 * Zones offered must be zones of the catalog's region (AWS names them `<region><letter>`, local zones
 * `<region>-<place>-<n><letter>`), and, when the catalog has offerings there, among them: a
 * us-west-2 zone on a us-east-1 catalog would be priced with the wrong region's prices.
 */
function checkZones(
  zones: readonly string[] | undefined,
  region: string,
  types: readonly InstanceType[],
  name: string,
) {
  if (zones === undefined) return;
  const offered = new Set<string>();
  for (const t of types) for (const o of t.offerings) offered.add(o.zone);
  for (const zone of zones) {
    const inRegion = zone.startsWith(region) && /^([a-z]|-[a-z]+-\d+[a-z])$/.test(zone.slice(region.length));
    if (!inRegion || (offered.size > 0 && !offered.has(zone))) {
      const known = [...offered].filter((z) => z.startsWith(region)).sort();
      throw new UsageError(
        `${name} ${zone}: not a zone of the ${region} catalog (${known.length > 0 ? `its zones: ${known.join(", ")}` : `zones of ${region} are named ${region}a, ${region}b, ...`})`,
      );
    }
  }
}

/**
 * Loads manifests (with the schemas' unknown fields and kinds, when given), stops on an invalid
 * NodePool or node class unless told to skip them, adds the default NodePool when the input has no
 * NodePool at all, and reads the catalog for every NodePool.
 */
export async function prepareInputs(
  texts: readonly ManifestInput[],
  options: Prepared,
  catalog: CatalogSpec = "embedded",
  progress?: Pick<Progress, "step">,
  /** Files and folders the host did not read (a kustomize folder), to say so with the rest. */
  notRead: readonly InputNotice[] = [],
): Promise<LoadedInputs> {
  const { now, capacityTypes } = options;
  const offer: Offer = { zones: options.zones, capacityTypes, nodeCosts: options.nodeCosts };
  const read = readDocuments(texts);
  for (const n of notRead) read.notices.push(n);
  let schemas: KindSchemas | undefined;
  if (options.schemas !== undefined) {
    progress?.step("reading the Kubernetes and Karpenter schemas");
    const pairs = new Map<string, { apiVersion: string; kind: string }>();
    for (const o of read.objects) {
      const v = o.value as { apiVersion?: unknown; kind?: unknown } | null;
      if (typeof v?.apiVersion === "string" && typeof v.kind === "string")
        pairs.set(`${v.apiVersion}/${v.kind}`, { apiVersion: v.apiVersion, kind: v.kind });
    }
    schemas = await options.schemas([...pairs.values()]);
  }
  const loaded = loadManifests(read, {
    now,
    maxReplicasFromHpa: options.maxReplicasFromHpa,
    strict: options.strict,
    ...(schemas === undefined ? {} : { schemas }),
  });
  const notes = [...loaded.notices.map(renderNotice), ...loaded.warnings.map(renderLoadWarning)];
  const cluster = loaded.cluster;
  const errors = loaded.errors.map((e) => toPlanError(e));

  if (loaded.graph.objects.length === 0 && errors.length === 0)
    throw new UsageError(
      `no Kubernetes objects in the input${notes.length > 0 ? `:\n${notes.map((n) => `  ${n}`).join("\n")}` : ""}`,
    );
  const poolErrors = loaded.errors.filter(isNodePoolError);
  if (poolErrors.length > 0 && !options.skipInvalidNodePools)
    throw new UsageError(
      `${poolErrors.map(renderLocatedError).join("\n")}\nan invalid NodePool or node class stops the plan (it would be planned without it); fix it, or pass ${options.names.skipInvalidNodePools} to plan without it`,
    );

  const { withoutStatus } = loaded.summary.pods;
  if (withoutStatus > 0)
    notes.push(
      `${withoutStatus} Pod${withoutStatus === 1 ? " has" : "s have"} no status (a manifest, not a cluster dump) and no node: planned as pending, as kube-scheduler would mark ${withoutStatus === 1 ? "it" : "them"} Unschedulable`,
    );
  const { notProvisionable } = loaded.summary.pods;
  if (notProvisionable > 0)
    notes.push(
      `${notProvisionable} pending Pod${notProvisionable === 1 ? " is" : "s are"} not planned: kube-scheduler has not marked ${notProvisionable === 1 ? "it" : "them"} Unschedulable (or ${notProvisionable === 1 ? "it is" : "they are"} gated or nominated), and Karpenter waits for that`,
    );

  // Node classes are checked here, where their provider's schema is known (EC2NodeClass).
  const validClasses = cluster.nodeClasses.filter((c) => {
    try {
      ec2NodeClassOf(c);
      return true;
    } catch (e) {
      if (!isInputValidationError(e)) throw e;
      const located = e.errors.map((x) => ({
        ...x,
        source: x.source ?? "input",
        object: x.object ?? `EC2NodeClass ${c.name}`,
      }));
      if (!options.skipInvalidNodePools)
        throw new UsageError(
          `${located.map(renderInputError).join("\n")}\nan invalid node class stops the plan; fix it, or pass ${options.names.skipInvalidNodePools} to plan without it`,
        );
      for (const x of located) errors.push(toPlanError(x));
      return false;
    }
  });

  let nodePools: NodePool[] = cluster.nodePools;
  const poolObjects = loaded.graph.objects.filter((o) => o.kind === "NodePool").length;
  if (poolObjects === 0) {
    nodePools = [defaultNodePool()];
    notes.push(
      'no NodePool in the input: planning with Karpenter\'s getting-started NodePool "default" (linux, amd64, on-demand, instance categories c, m, r of generation 3 or later, limit 1000 cpu)',
    );
  } else if (nodePools.length === 0) {
    notes.push(
      "every NodePool of the input is invalid: nothing can be provisioned (no default NodePool is used when the input has NodePools)",
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
  const withClasses = { ...cluster, nodeClasses: validClasses };
  for (const pool of nodePools) {
    instanceTypes[pool.name] = await opened.source.instanceTypes(pool, nodeClassOf(withClasses, pool));
    for (const w of opened.warnings()) if (!warnings.some((x) => x.code === w.code)) warnings.push(w);
  }
  checkZones(offer.zones, opened.region, Object.values(instanceTypes).flat(), options.names.zones);
  const byName = new Map<string, InstanceType>();
  for (const types of Object.values(instanceTypes)) for (const t of types) byName.set(t.name, t);
  let nodes = cluster.nodes.map((n) => withCatalogPrice(n, byName));
  // An existing node's price does not depend on what the NodePools allow now (a spot node under an
  // on-demand-only pool still costs its spot price): nodes left unpriced are looked up in the whole catalog.
  if (nodes.some((n) => n.pricePerHour === undefined && n.instanceType !== undefined)) {
    const all = new Map<string, InstanceType>();
    for (const t of await opened.source.instanceTypes(unrestrictedNodePool(), undefined)) all.set(t.name, t);
    nodes = nodes.map((n) => (n.pricePerHour === undefined ? withCatalogPrice(n, all) : n));
  }
  return {
    now,
    cluster: { ...cluster, nodes, nodePools },
    instanceTypes,
    warnings,
    errors,
    notes,
    summary: loaded.summary,
    summaryLine: renderLoadSummary(loaded.summary),
    graph: loaded.graph,
    texts,
  };
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
  progress?.step(`planning disruption of ${inputs.cluster.nodes.length} nodes`);
  await progress?.yield();
  const plan = (await loadSolver()).planDisruption(disruptionInput(inputs, strategy));
  plan.warnings.push(...inputs.warnings.filter((w) => !plan.warnings.some((x) => x.code === w.code)));
  plan.errors.push(...inputs.errors);
  return plan;
}

/**
 * The controller's loop on the input cluster (`consolidate --loop`): plan one wave, carry it out,
 * plan again, to the fixed point. The input's own warnings and errors join the last plan's.
 */
export async function loopFor(
  inputs: LoadedInputs,
  strategy: Strategy = "nodeplan",
  progress?: Progress,
): Promise<LoopResult> {
  progress?.step(`consolidating ${inputs.cluster.nodes.length} nodes pass by pass`);
  await progress?.yield();
  const result = (await loadSolver()).consolidateToFixedPoint(disruptionInput(inputs, strategy));
  result.last.warnings.push(
    ...inputs.warnings.filter((w) => !result.last.warnings.some((x) => x.code === w.code)),
  );
  result.last.errors.push(...inputs.errors);
  return result;
}

function disruptionInput(inputs: LoadedInputs, strategy: Strategy): DisruptionInput {
  const { cluster } = inputs;
  return {
    nodes: cluster.nodes,
    pods: cluster.pods,
    nodePools: cluster.nodePools,
    instanceTypes: inputs.instanceTypes,
    daemonSets: cluster.daemonSets,
    pdbs: cluster.podDisruptionBudgets,
    now: inputs.now,
    options: { strategy },
  };
}
