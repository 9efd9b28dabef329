#!/usr/bin/env node
import { Command, Option } from "commander";
import { describeFailure, type PlanOptions, renderPlan, runPlan } from "./plan-command.ts";

/**
 * `nodeplan`: plan new capacity for Kubernetes manifests. Exit codes: 0 ok; 1 with
 * --fail-on-unschedulable when some pod is unschedulable; 2 when the input cannot be used.
 */
const program = new Command()
  .name("nodeplan")
  .description(
    "Kubernetes node provisioning planner: which nodes to launch, at what cost, against a proven lower bound",
  )
  .showHelpAfterError();

program
  .command("plan")
  .description("plan nodes for the pending pods in manifests (files, directories, or - for stdin)")
  .argument("<paths...>", "manifest files or directories (YAML or JSON, kubectl List dumps too)")
  .option("--catalog <source>", "instance catalog: embedded (default) or a catalog JSON file", "embedded")
  .option("--zones <zones>", "comma-separated zones to offer (default us-east-1a,b,c)")
  .option("--capacity-types <types>", "comma-separated capacity types to offer (default on-demand,spot)")
  .option("--now <time>", "the time to plan at (RFC 3339); default the current time")
  .option("--max-replicas-from-hpa", "plan workloads with an HPA at its maxReplicas")
  .option("--fail-on-unschedulable", "exit 1 when any pod is unschedulable")
  .addOption(
    new Option("-o, --output <format>", "output format")
      .choices(["text", "json", "yaml", "nodeclaims"])
      .default("text"),
  )
  .action(async (paths: string[], options: PlanOptions) => {
    const run = await runPlan(paths, options);
    process.stdout.write(renderPlan(run, options.output));
    if (options.failOnUnschedulable && run.plan.unschedulable.length > 0) process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`nodeplan: ${describeFailure(e)}\n`);
  process.exitCode = 2;
}
