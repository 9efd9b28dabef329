import {
  CapacityTypeSchema,
  fromZodError,
  type InputError,
  parseDurationMillis,
  renderInputError,
  TimestampSchema,
} from "@nodeplan/core";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Distribution } from "./rng.ts";

/**
 * The scenario file of `nodeplan simulate` (apiVersion nodeplan.dev/v1alpha1, kind Simulation): the
 * manifests (read exactly as `nodeplan plan` reads them), patches to them, a timeline of what happens
 * (scale, Git commits, interruptions, AMI releases), per-app behaviour (start and readiness times, CPU
 * load curves, GitOps), and settings (node boot latency, capacity shortages, spot interruption rate, the
 * controller's timings). Durations are Go durations (`90s`, `1h30m`); times in the timeline are offsets
 * from `start`. `scenarioJsonSchema()` is this schema as JSON Schema, for editors.
 */

const duration = z
  .string()
  .refine((s) => (parseDurationMillis(s) ?? -1) >= 0, "expected a duration such as 30s, 15m or 24h")
  .describe("a Go duration: 30s, 15m, 1h30m, 24h");

const seconds = z.number().min(0);

/** A latency distribution in seconds: a number (fixed) or one of the shapes. */
const DistributionSchema = z
  .union([
    seconds,
    z.object({ fixed: seconds }).strict(),
    z.object({ uniform: z.object({ min: seconds, max: seconds }).strict() }).strict(),
    z.object({ normal: z.object({ mean: seconds, sd: seconds }).strict() }).strict(),
    z
      .object({
        lognormal: z
          .object({ median: z.number().positive(), p95: z.number().positive() })
          .strict()
          .refine((l) => l.p95 >= l.median, "p95 must be at least the median"),
      })
      .strict(),
  ])
  .describe(
    "seconds: a number, or {fixed}, {uniform: {min, max}}, {normal: {mean, sd}}, {lognormal: {median, p95}}",
  );

const appRef = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "expected namespace/name")
  .describe("a Deployment or StatefulSet as namespace/name");

const quantity = z.union([z.string(), z.number()]);

/** A point of a load curve: total CPU cores the app uses at `at` (linear between points). */
const LoadPointSchema = z.object({ at: duration, cores: z.number().min(0) }).strict();

const AppSchema = z
  .object({
    app: appRef,
    /** Bound to container started (image pull, start). */
    startSeconds: DistributionSchema.optional().describe("Bound to container started (image pull, start)."),
    /** Started to Ready (readiness probe). */
    readySeconds: DistributionSchema.optional().describe("Started to Ready (readiness probe)."),
    /** How long the app takes to stop after SIGTERM (capped by its terminationGracePeriodSeconds). */
    shutdownSeconds: DistributionSchema.optional().describe(
      "How long the app takes to stop after SIGTERM (capped by its terminationGracePeriodSeconds).",
    ),
    /** The CPU the app uses over time: what its HPA measures. */
    load: z
      .object({
        points: z.array(LoadPointSchema).min(1),
        /** The curve repeats with this period (for example 24h). */
        repeat: duration.optional().describe("The curve repeats with this period (for example 24h)."),
        /** Multiplicative noise: each HPA sample is scaled by 1 + noise x N(0,1) (seeded). */
        noise: z
          .number()
          .min(0)
          .max(1)
          .default(0)
          .describe("Multiplicative noise: each HPA sample is scaled by 1 + noise x N(0,1) (seeded)."),
      })
      .strict()
      .optional(),
    /** ArgoCD keeps this app in sync with Git. */
    gitops: z
      .object({
        /** Git's manifest sets spec.replicas (so a sync resets what an HPA or kubectl scale changed). */
        replicasInGit: z
          .boolean()
          .default(true)
          .describe(
            "Git's manifest sets spec.replicas (so a sync resets what an HPA or kubectl scale changed).",
          ),
        /** Automated sync with selfHeal: drift from Git is reverted at every sync, not only on commits. */
        selfHeal: z
          .boolean()
          .default(true)
          .describe(
            "Automated sync with selfHeal: drift from Git is reverted at every sync, not only on commits.",
          ),
        /** ArgoCD's reconciliation interval (timeout.reconciliation, default 180s). */
        syncInterval: duration
          .default("180s")
          .describe("ArgoCD's reconciliation interval (timeout.reconciliation, default 180s)."),
      })
      .strict()
      .optional(),
  })
  .strict();

const at = { at: duration.describe("offset from spec.start") };

const TimelineEventSchema = z.union([
  z.object({ ...at, scale: z.object({ app: appRef, replicas: z.number().int().min(0) }).strict() }).strict(),
  z
    .object({
      ...at,
      commit: z
        .object({
          app: appRef,
          replicas: z.number().int().min(0).optional(),
          /** A new image tag: a new pod template, rolled out as the Deployment's strategy says. */
          image: z
            .string()
            .optional()
            .describe("A new image tag: a new pod template, rolled out as the Deployment's strategy says."),
          /** New container requests (cpu, memory): a new pod template too. */
          requests: z
            .record(z.string(), quantity)
            .optional()
            .describe("New container requests (cpu, memory): a new pod template too."),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      ...at,
      interrupt: z
        .object({
          /** How many nodes get a spot interruption notice now (chosen at random among those that match). */
          count: z
            .number()
            .int()
            .min(1)
            .describe(
              "How many nodes get a spot interruption notice now (chosen at random among those that match).",
            ),
          nodePool: z.string().optional(),
          capacityType: CapacityTypeSchema.default("spot"),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      ...at,
      amiRelease: z
        .object({
          /** The EC2NodeClass whose AMI alias resolves to a new image now (default: every node class). */
          nodeClass: z
            .string()
            .optional()
            .describe(
              "The EC2NodeClass whose AMI alias resolves to a new image now (default: every node class).",
            ),
          image: z.string().min(1),
        })
        .strict(),
    })
    .strict(),
]);

const CapacityWindowSchema = z
  .object({
    instanceType: z.string().optional(),
    zone: z.string().optional(),
    capacityType: CapacityTypeSchema.optional(),
    from: duration.default("0s"),
    until: duration.optional(),
  })
  .strict()
  .describe(
    "offerings with no capacity (launches there fail with InsufficientInstanceCapacity) between from and until",
  );

const PatchSchema = z
  .object({
    target: z
      .object({
        kind: z.string(),
        namespace: z.string().optional(),
        name: z.string().optional(),
        /** matchLabels on metadata.labels. */
        labels: z.record(z.string(), z.string()).optional().describe("matchLabels on metadata.labels."),
      })
      .strict(),
    /** A JSON merge patch (RFC 7386) applied to every matching object. */
    patch: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("A JSON merge patch (RFC 7386) applied to every matching object."),
    /** Remove the matching objects instead. */
    delete: z.boolean().optional().describe("Remove the matching objects instead."),
  })
  .strict()
  .refine((p) => (p.patch !== undefined) !== (p.delete === true), "give either patch or delete: true");

const SettingsSchema = z
  .object({
    /** How often the time series is sampled. */
    sampleInterval: duration.default("60s").describe("How often the time series is sampled."),
    nodes: z
      .object({
        /** The launch call: claim created to instance running (billing starts). */
        launchSeconds: DistributionSchema.default({ fixed: 2 }).describe(
          "The launch call: claim created to instance running (billing starts).",
        ),
        /** Instance running to Node registered (boot, kubelet start). */
        bootSeconds: DistributionSchema.default({ lognormal: { median: 35, p95: 70 } }).describe(
          "Instance running to Node registered (boot, kubelet start).",
        ),
        /** Registered to Ready and initialized (CNI, startup taints). */
        readySeconds: DistributionSchema.default({ fixed: 10 }).describe(
          "Registered to Ready and initialized (CNI, startup taints).",
        ),
        /** Drained node to instance terminated (billing stops). */
        terminationSeconds: DistributionSchema.default({ fixed: 15 }).describe(
          "Drained node to instance terminated (billing stops).",
        ),
        /** Each launch fails with this probability with a provider error (not a capacity shortage). */
        launchFailureRate: z
          .number()
          .min(0)
          .max(1)
          .default(0)
          .describe(
            "Each launch fails with this probability with a provider error (not a capacity shortage).",
          ),
        /** The image nodes run at the start (an amiRelease event changes what new nodes get). */
        image: z
          .string()
          .default("ami-initial")
          .describe("The image nodes run at the start (an amiRelease event changes what new nodes get)."),
      })
      .strict()
      .default({
        launchSeconds: { fixed: 2 },
        bootSeconds: { lognormal: { median: 35, p95: 70 } },
        readySeconds: { fixed: 10 },
        terminationSeconds: { fixed: 15 },
        launchFailureRate: 0,
        image: "ami-initial",
      }),
    /** Offerings without capacity for a while. */
    capacity: z.array(CapacityWindowSchema).default([]).describe("Offerings without capacity for a while."),
    spot: z
      .object({
        /** Spot interruption notices per spot node per hour (a Poisson rate; 0 = only the timeline's). */
        interruptionsPerHour: z
          .number()
          .min(0)
          .default(0)
          .describe(
            "Spot interruption notices per spot node per hour (a Poisson rate; 0 = only the timeline's).",
          ),
        /** Notice before the instance is reclaimed (EC2: two minutes). */
        noticeSeconds: z
          .number()
          .min(0)
          .default(120)
          .describe("Notice before the instance is reclaimed (EC2: two minutes)."),
      })
      .strict()
      .default({ interruptionsPerHour: 0, noticeSeconds: 120 }),
    pods: z
      .object({
        startSeconds: DistributionSchema.default({ fixed: 5 }),
        readySeconds: DistributionSchema.default({ fixed: 10 }),
        shutdownSeconds: DistributionSchema.default({ fixed: 5 }),
      })
      .strict()
      .default({ startSeconds: { fixed: 5 }, readySeconds: { fixed: 10 }, shutdownSeconds: { fixed: 5 } }),
    /** The controller's timings (Karpenter's defaults). */
    controller: z
      .object({
        batchIdleSeconds: seconds.optional(),
        batchMaxSeconds: seconds.optional(),
        validationSeconds: seconds.optional(),
        evictionRetrySeconds: seconds.optional(),
        minSavingsPerHour: z.number().min(0).optional(),
        minSavingsPercent: z.number().min(0).optional(),
        spotToSpotConsolidation: z.boolean().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

/** The scenario file. */
export const ScenarioSchema = z
  .object({
    apiVersion: z.literal("nodeplan.dev/v1alpha1"),
    kind: z.literal("Simulation"),
    metadata: z.object({ name: z.string().min(1), description: z.string().optional() }).strict(),
    spec: z
      .object({
        /** Manifest files or directories, relative to the scenario file, read as `nodeplan plan` reads them. */
        manifests: z
          .array(z.string().min(1))
          .min(1)
          .describe(
            "Manifest files or directories, relative to the scenario file, read as `nodeplan plan` reads them.",
          ),
        patches: z.array(PatchSchema).default([]),
        /** The simulated clock's start (RFC 3339). */
        start: TimestampSchema.describe("The simulated clock's start (RFC 3339)."),
        duration: duration.default("24h"),
        seed: z.number().int().min(0).default(1),
        strategies: z
          .array(z.enum(["nodeplan", "karpenter"]))
          .min(1)
          .default(["nodeplan", "karpenter"]),
        /** The catalog's zones and capacity types (as --zones and --capacity-types). */
        catalog: z
          .object({
            zones: z.array(z.string()).optional(),
            capacityTypes: z.array(CapacityTypeSchema).optional(),
          })
          .strict()
          .default({}),
        apps: z.array(AppSchema).default([]),
        timeline: z.array(TimelineEventSchema).default([]),
        settings: SettingsSchema.default(SettingsSchema.parse({})),
      })
      .strict(),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type AppSettings = z.infer<typeof AppSchema>;
export type TimelineEvent = z.infer<typeof TimelineEventSchema>;
export type Settings = z.infer<typeof SettingsSchema>;
export type CapacityWindow = z.infer<typeof CapacityWindowSchema>;
export type DistributionSpec = z.infer<typeof DistributionSchema>;

/** A scenario that cannot be used: every problem with its path in the file. */
export class ScenarioError extends Error {
  readonly errors: InputError[];
  constructor(source: string, errors: InputError[]) {
    super(errors.map((e) => renderInputError({ ...e, source: e.source ?? source })).join("\n"));
    this.errors = errors;
  }
}

/** Parses a scenario file (YAML or JSON); a bad one throws ScenarioError naming every field. */
export function parseScenario(text: string, source = "scenario"): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ScenarioError(source, [
      { code: "invalid_schema", source, path: [], detail: `not YAML or JSON: ${(e as Error).message}` },
    ]);
  }
  const parsed = ScenarioSchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(source, fromZodError(parsed.error, { source }));
  const scenario = parsed.data;
  const horizon = parseDurationMillis(scenario.spec.duration) as number;
  if (horizon <= 0)
    throw new ScenarioError(source, [
      { code: "invalid_schema", source, path: ["spec", "duration"], detail: "the duration must be positive" },
    ]);
  const apps = new Set<string>();
  for (const [i, a] of scenario.spec.apps.entries()) {
    if (apps.has(a.app))
      throw new ScenarioError(source, [
        {
          code: "invalid_schema",
          source,
          path: ["spec", "apps", i, "app"],
          detail: `${a.app} is listed twice`,
        },
      ]);
    apps.add(a.app);
  }
  return scenario;
}

/** A distribution setting as the RNG's Distribution. */
export function distribution(spec: DistributionSpec): Distribution {
  return typeof spec === "number" ? { fixed: spec } : spec;
}

/** A duration setting in milliseconds (the schema has checked it). */
export function millis(text: string): number {
  return parseDurationMillis(text) as number;
}

/** The scenario file's JSON Schema (draft 2020-12), generated from the zod schema. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ScenarioSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
