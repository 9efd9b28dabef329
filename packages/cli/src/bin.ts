#!/usr/bin/env node
import { readFileSync } from "node:fs";
import type { DisruptionPlan } from "@nodeplan/core";
import { Command, CommanderError, Option } from "commander";
import type { CatalogShowOptions } from "./catalog-command.ts";
import type { InputOptions, LoadedInputs } from "./inputs.ts";
import type { PlanOptions } from "./plan-command.ts";
import { paintFor, progress } from "./terminal.ts";

// Commands import their modules when they run, so --help and command-line errors answer at once.
const strategies = ["nodeplan", "karpenter"] as const;

/**
 * `nodeplan`: plan new capacity, consolidation and explanations for Kubernetes manifests. Exit codes:
 * 0 ok; 1 with --fail-on-unschedulable when some pod is unschedulable (doctor: with --fail-on when a
 * finding is that severe); 2 when the input (or part of it) cannot be used or the command line is
 * wrong; 3 when a simulation broke an invariant. Errors go to stderr, never with a stack trace.
 */

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(`nodeplan: ${text}\n`);

/**
 * Notes on stderr; every rejected input on stderr and exit code 2 (the rest was still used); then
 * the one line saying what was read, ignored and why.
 */
function finish(inputs: {
  notes?: string[];
  errors: readonly { message: string }[];
  summaryLine?: string;
}): void {
  for (const n of inputs.notes ?? []) err(`note: ${n}`);
  for (const e of inputs.errors) err(`error: ${e.message}`);
  if (inputs.summaryLine !== undefined) err(inputs.summaryLine);
  if (inputs.errors.length > 0) process.exitCode = 2;
}

/** The CLI's version: the package's (one level above src/ and dist/ alike). */
const version = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Options of every command that reads manifests; `--at` stays an alias of `--now`. */
const inputOptions = (command: Command) =>
  command
    .option(
      "--catalog <source>",
      "instance catalog: embedded (offline AWS table), aws (live: ambient credentials) or a catalog JSON file",
      "embedded",
    )
    .option(
      "--region <region>",
      "AWS region of --catalog aws (default the ambient one: AWS_REGION or the profile's)",
    )
    .option(
      "--zones <zones>",
      "comma-separated zones to offer, checked against the catalog (default: the catalog's, us-east-1a,b,c offline)",
    )
    .option("--capacity-types <types>", "comma-separated capacity types to offer (default on-demand,spot)")
    .option("--now <time>", "the time to plan at (RFC 3339); default the current time")
    .addOption(new Option("--at <time>", "alias of --now").hideHelp())
    .option("--max-replicas-from-hpa", "plan workloads with an HPA at its maxReplicas")
    .option(
      "--strict",
      "unknown fields and kinds are errors (exit 2) and their objects are not used, as kubectl --validate=strict",
    )
    .option(
      "--skip-invalid-nodepools",
      "plan without NodePools and node classes that are invalid (default: an invalid one stops the run, exit 2)",
    )
    .option(
      "--public-ipv4",
      "every node pays for a public IPv4 address (offline; live, the node class and subnets say)",
    )
    .option(
      "--burstable-credits <mode>",
      "burstable CPU credits: default (each family's AWS default), unlimited (surplus paid) or standard (baseline only)",
    )
    .option("--burstable-load <share>", "share of their CPU requests pods use, in (0, 1] (default 1)")
    .option(
      "--node-fee <dollars>",
      "a fee per node per hour for NodePools without nodeplan.dev/node-fee-per-hour",
    );

/** The input options with `--at` folded into `--now` (naming the flag the user gave in errors). */
function withNow<T extends InputOptions & { at?: string }>(options: T): T {
  if (options.at === undefined) return options;
  if (options.now !== undefined && options.now !== options.at)
    throw new CommanderError(2, "nodeplan.conflict", "error: --now and --at (its alias) disagree: give one");
  return { ...options, now: options.at, timeFlag: "--at" };
}

/** Loads inputs with a progress indicator that is cleared before anything is printed. */
async function withInputs<T>(
  paths: string[],
  options: InputOptions,
  work: (inputs: LoadedInputs, p: ReturnType<typeof progress>) => Promise<T>,
): Promise<[LoadedInputs, T]> {
  const p = progress();
  try {
    const { loadInputs } = await import("./inputs.ts");
    const inputs = await loadInputs(paths, withNow(options), p);
    return [inputs, await work(inputs, p)];
  } finally {
    p.done();
  }
}

const program = new Command()
  .name("nodeplan")
  .description(
    "Kubernetes node provisioning and consolidation planner: which nodes to launch or remove, at what cost, against a proven lower bound",
  )
  .version(version, "-V, --version", "print the version")
  .exitOverride()
  .showHelpAfterError();

inputOptions(
  program
    .command("plan")
    .description("plan new nodes for the pending pods in manifests (files, directories, or - for stdin)")
    .argument("<paths...>", "manifest files or directories (YAML or JSON, kubectl List dumps too)"),
)
  .addOption(
    new Option(
      "-o, --output <format>",
      "output format: the report, the Plan as json/yaml, or NodeClaim manifests",
    )
      .choices(["text", "json", "yaml", "nodeclaims"])
      .default("text"),
  )
  .option("--fail-on-unschedulable", "exit 1 when any pod is unschedulable")
  .action(async (paths: string[], options: PlanOptions) => {
    const { planFor, writePlan } = await import("./plan-command.ts");
    const [inputs, plan] = await withInputs(paths, options, (i, p) => planFor(i, p));
    writePlan(
      { plan, inputs, cluster: inputs.cluster },
      options.output,
      out,
      paintFor(process.stdout, options.output === "text"),
    );
    finish(inputs);
    if (options.failOnUnschedulable && plan.unschedulable.length > 0 && process.exitCode !== 2)
      process.exitCode = 1;
  });

inputOptions(
  program
    .command("consolidate")
    .description(
      "plan disruption: which nodes to remove or replace, in waves within budgets, and why others stay",
    )
    .argument("<paths...>", "manifest files or directories of the cluster (nodes, pods, NodePools, PDBs)"),
)
  .addOption(
    new Option("--strategy <strategy>", "consolidation algorithm").choices(strategies).default("nodeplan"),
  )
  .addOption(
    new Option("-o, --output <format>", "output format").choices(["text", "json", "yaml"]).default("text"),
  )
  .option(
    "--loop",
    "run the controller's loop to its fixed point: plan one wave, carry it out, plan again; print each pass",
  )
  .action(
    async (
      paths: string[],
      options: InputOptions & {
        strategy: (typeof strategies)[number];
        output: "text" | "json" | "yaml";
        loop?: boolean;
      },
    ) => {
      const { disruptionFor, loopFor, writeDisruption, writeLoop } = await import("./consolidate.ts");
      const paint = paintFor(process.stdout, options.output === "text");
      if (options.loop === true) {
        const [inputs, loop] = await withInputs(paths, options, (i, p) => loopFor(i, options.strategy, p));
        writeLoop(loop, inputs, options.output, out, paint);
        finish(inputs);
        return;
      }
      const [inputs, plan] = await withInputs(paths, options, (i, p) =>
        disruptionFor(i, options.strategy, p),
      );
      writeDisruption(plan, inputs, options.output, out, paint);
      finish(inputs);
    },
  );

inputOptions(
  program
    .command("doctor")
    .description(
      "find autoscaling mistakes in manifests (PDBs, HPAs, NodePools, EC2NodeClasses, Argo CD), each with its cost and a fix",
    )
    .argument("<paths...>", "manifest files or directories (YAML or JSON, kubectl List dumps too)"),
)
  .addOption(
    new Option(
      "-o, --output <format>",
      "text grouped by severity, { findings, summary } as json, or SARIF 2.1.0",
    )
      .choices(["text", "json", "sarif"])
      .default("text"),
  )
  .addOption(
    new Option("--fail-on <severity>", "exit 1 when a finding is at least this severe (CI)").choices([
      "warning",
      "error",
    ]),
  )
  .action(async (paths: string[], options: import("./doctor-command.ts").DoctorCommandOptions) => {
    const { doctorCommand, failsOn, renderDoctor } = await import("./doctor-command.ts");
    const p = progress();
    let result: Awaited<ReturnType<typeof doctorCommand>>;
    try {
      result = await doctorCommand(paths, withNow(options), p);
    } finally {
      p.done();
    }
    out(
      renderDoctor(result.report, options.output, {
        version,
        paint: paintFor(process.stdout, options.output === "text"),
      }),
    );
    finish(result.inputs);
    if (failsOn(result.report, options.failOn) && process.exitCode !== 2) process.exitCode = 1;
  });

const explain = program
  .command("explain")
  .description("explain why a pod goes where it goes (or cannot), or why a node stays or goes");
for (const what of ["pod", "node"] as const) {
  inputOptions(
    explain
      .command(what)
      .description(
        what === "pod"
          ? "where a pod goes: the node or NodeClaim, its options, and the constraints that narrowed them"
          : "why a node stays or goes (consolidation), or what a planned NodeClaim holds",
      )
      .argument(
        what === "pod" ? "<pod>" : "<node>",
        what === "pod" ? "namespace/name" : "node or NodeClaim name",
      )
      .argument("<paths...>", "manifest files or directories"),
  ).action(async (name: string, paths: string[], options: InputOptions) => {
    const { planFor } = await import("./plan-command.ts");
    const { disruptionFor } = await import("./consolidate.ts");
    const { explainNode, explainPod } = await import("./explain.ts");
    const [inputs, text] = await withInputs(paths, options, async (i, p) => {
      const plan = await planFor(i, p);
      // Explaining a pod does not need the disruption plan; a failure there must not hide the rest.
      let disruption: DisruptionPlan | undefined;
      try {
        disruption = await disruptionFor(i, "nodeplan", p);
      } catch (e) {
        i.notes.push(`disruption could not be evaluated: ${(e as Error).message}`);
      }
      return what === "pod" ? explainPod(i, plan, name, disruption) : explainNode(i, plan, name, disruption);
    });
    out(text);
    finish(inputs);
  });
}

const catalog = program.command("catalog").description("show or refresh the instance catalog");
catalog
  .command("show")
  .description(
    "list instance types with allocatable cpu, memory, pods and the price per zone and capacity type",
  )
  .option("--catalog <source>", "embedded (default), aws (live) or a catalog JSON file", "embedded")
  .option("--region <region>", "AWS region of --catalog aws (default the ambient one)")
  .option("--filter <substring>", "only instance types whose name contains this")
  .option("--zones <zones>", "comma-separated zones to offer")
  .option("--capacity-types <types>", "comma-separated capacity types to offer (default on-demand,spot)")
  .addOption(
    new Option("-o, --output <format>", "output format (json: a catalog file)")
      .choices(["text", "json"])
      .default("text"),
  )
  .action(async (options: CatalogShowOptions) => {
    const { catalogShow } = await import("./catalog-command.ts");
    const { text, warnings, errors } = await catalogShow(
      options,
      paintFor(process.stdout, options.output === "text"),
    );
    out(text);
    for (const w of warnings) err(`warning: ${w.message}`);
    finish({ errors });
  });
catalog
  .command("refresh")
  .description(
    "read the live catalog from AWS (EC2 and the Price List API, ambient credentials) into a catalog file",
  )
  .option("--region <region>", "AWS region (default the ambient one: AWS_REGION or the profile's)")
  .requiredOption("-o, --output <file>", "catalog JSON file to write")
  .option("--zones <zones>", "comma-separated zones to offer (default every zone EC2 reports)")
  .option("--capacity-types <types>", "comma-separated capacity types to offer (default on-demand,spot)")
  .action(async (options: { region?: string; output: string; zones?: string; capacityTypes?: string }) => {
    const p = progress();
    p.step("reading EC2 instance types and prices");
    try {
      const { catalogRefresh } = await import("./catalog-command.ts");
      const { summary, issues } = await catalogRefresh(options);
      for (const i of issues) err(`warning: ${i}`);
      process.stderr.write(`${summary}\n`);
    } finally {
      p.done();
    }
  });

program
  .command("simulate")
  .description(
    "simulate the autoscaler loop over time (HPA, GitOps, boot latency, consolidation, interruptions) and compare strategies",
  )
  .argument("[scenario]", "scenario file (YAML or JSON; see examples/simulations)")
  .option(
    "--strategy <list>",
    "comma-separated strategies to run: nodeplan, karpenter (default: the scenario's)",
  )
  .option("--duration <duration>", "simulated time, e.g. 6h or 24h (default: the scenario's)")
  .option("--seed <n>", "random seed (default: the scenario's); same seed, same result")
  .option(
    "--catalog <source>",
    "instance catalog: embedded (offline AWS table), aws (live) or a catalog JSON file",
    "embedded",
  )
  .option("--schema", "print the scenario file's JSON Schema and exit")
  .addOption(
    new Option("-o, --output <format>", "output format: the report, the result as JSON, or an SVG chart")
      .choices(["text", "json", "svg"])
      .default("text"),
  )
  .action(async (scenario: string | undefined, options: import("./simulate-command.ts").SimulateOptions) => {
    const m = await import("./simulate-command.ts");
    if (options.schema === true) {
      out(m.scenarioSchemaText());
      return;
    }
    if (scenario === undefined)
      throw new CommanderError(2, "nodeplan.usage", "error: give a scenario file (or --schema)");
    // Progress on stderr: a line that updates on a terminal; otherwise a line per quarter, once a run is slow.
    const started = Date.now();
    const tty = process.stderr.isTTY === true;
    let shown = "";
    const report = (strategy: string, fraction: number) => {
      const pct = Math.floor(fraction * 100);
      const line = `simulating ${strategy}: ${pct}%`;
      if (tty) {
        if (line !== shown && Date.now() - started > 500) process.stderr.write(`\r\u001b[2K${line}`);
      } else if (pct % 25 === 0 && Date.now() - started > 5000 && line !== shown)
        process.stderr.write(`${line}\n`);
      shown = line;
    };
    try {
      const run = await m.simulateScenario(scenario, options, report);
      if (tty && shown !== "") process.stderr.write("\r\u001b[2K");
      out(m.renderSimulation(run.result, options.output));
      finish(run.inputs ?? { errors: [] });
    } catch (e) {
      if (tty && shown !== "") process.stderr.write("\r\u001b[2K");
      if ((e as Error).name === "SimulationFailure") {
        err(`simulation failed: ${(e as Error).message}`);
        process.exitCode = 3;
        return;
      }
      throw e;
    }
  });

program
  .command("controller")
  .description(
    "run in a cluster: watch pods, nodes and NodePools, then publish (advisory) or carry out (acting) the plans",
  )
  .addOption(
    new Option(
      "--mode <mode>",
      "advisory: Events, status ConfigMap and metrics only; acting: launch and disrupt",
    )
      .choices(["advisory", "acting"])
      .default("advisory"),
  )
  .addOption(
    new Option("--catalog <source>", "instance catalog").choices(["embedded", "aws"]).default("embedded"),
  )
  .option("--region <region>", "AWS region (--catalog aws, acting mode); default the ambient one")
  .option("--leader-elect <bool>", "elect a leader through a coordination.k8s.io Lease", "true")
  .option("--leader-election-namespace <ns>", "namespace of the Lease and the status ConfigMap")
  .option("--leader-election-lease <name>", "Lease name", "nodeplan-controller")
  .option("--lease-duration <d>", "Lease duration", "15s")
  .option("--renew-deadline <d>", "how long the leader keeps trying to renew", "10s")
  .option("--retry-period <d>", "Lease retry period", "2s")
  .option("--batch-idle-duration <d>", "solve after this long without a new pending pod", "1s")
  .option("--batch-max-duration <d>", "solve at most this long after the first pending pod", "10s")
  .option("--metrics-port <port>", "port of /metrics, /healthz and /readyz", "8080")
  .option(
    "--metrics-host <address>",
    "address /metrics and the probes listen on (127.0.0.1: this host only)",
    "0.0.0.0",
  )
  .option(
    "--garbage-collection <bool>",
    "terminate (acting) or report (advisory, with --cluster-name) instances of the cluster's NodePools no NodeClaim names",
    "true",
  )
  .option("--cluster-name <name>", "EKS cluster name (acting mode: node bootstrap and tags)")
  .option("--cluster-endpoint <url>", "API server endpoint nodes join (acting mode)")
  .option("--cluster-ca-bundle <base64>", "cluster CA, base64 PEM (acting mode)")
  .option("--service-cidr <cidr>", "Kubernetes service CIDR (AL2023 nodeadm)")
  .option("--kubernetes-version <minor>", "Kubernetes minor version for AMI aliases, e.g. 1.32 (acting mode)")
  .option("--interruption-queue <url>", "SQS queue URL of EC2 interruption events (EventBridge)")
  .option(
    "--capacity-reservations <ids>",
    "offer EC2 capacity reservations as reserved capacity (--catalog aws): all, or a comma-separated list of ids",
  )
  .option(
    "--doctor-interval <d>",
    "run nodeplan doctor's rules over the watched cluster this often (status ConfigMap keys doctor, doctor.json; nodeplan_doctor_* metrics); 0 turns them off",
    "10m",
  )
  .action(
    async (options: import("./controller-command.ts").ControllerCommandOptions & { region?: string }) => {
      // The AWS clients take the region from the environment, as they do in a pod.
      if (options.region !== undefined) process.env.AWS_REGION = options.region;
      const { runControllerCommand } = await import("./controller-command.ts");
      await runControllerCommand(options);
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed the message (or the help); a wrong command line is unusable input.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    const { describeFailure } = await import("./inputs.ts");
    err(describeFailure(e));
    process.exitCode = 2;
  }
}
