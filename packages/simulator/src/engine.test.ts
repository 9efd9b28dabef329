import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SimulationFailure } from "./engine.ts";
import { SimulationResultSchema } from "./result.ts";
import { runTiny, tinyManifests, tinyScenario } from "./world.test-helper.ts";

describe("a simulation", () => {
  test("provisions for pending pods, binds them, and reports the contract's shape", async () => {
    const r = await runTiny(tinyScenario({ duration: "30m" }));
    expect(SimulationResultSchema.safeParse(r).success).toBe(true);
    const s = r.strategies.nodeplan?.summary;
    expect(s?.launches).toBeGreaterThan(0);
    // Eight 1-cpu pods, all pending at the start, all bound within a couple of minutes.
    expect(s?.pendingSecondsMax).toBeGreaterThan(10);
    expect(s?.pendingSecondsMax).toBeLessThan(180);
    const last = r.strategies.nodeplan?.series.at(-1);
    expect(last).toMatchObject({ pendingPods: 0, readyPods: 8, desiredPods: 8 });
  });

  test("same seed, same JSON byte for byte; another seed, other boot times", async () => {
    const scenario = () =>
      tinyScenario({
        duration: "1h",
        strategies: ["nodeplan", "karpenter"],
        timeline: [
          { at: "20m", scale: { app: "shop/web", replicas: 20 } },
          { at: "40m", scale: { app: "shop/web", replicas: 4 } },
        ],
      });
    const a = JSON.stringify(await runTiny(scenario()));
    const b = JSON.stringify(await runTiny(scenario()));
    expect(a).toBe(b);
    const other = scenario();
    other.spec.seed = 2;
    expect(JSON.stringify(await runTiny(other))).not.toBe(a);
  });

  test("a pod bound where it does not fit fails the simulation (invariant fit)", async () => {
    // A node of the manifests with two 1.5-cpu pods on 2 cpu: the run refuses to start from it.
    const overcommitted = tinyManifests({
      replicas: 0,
      extra: `---
apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: { node.kubernetes.io/instance-type: small, topology.kubernetes.io/zone: z1, karpenter.sh/capacity-type: on-demand, karpenter.sh/nodepool: default }
spec: { providerID: "aws:///z1/i-1" }
status:
  capacity: { cpu: "2", memory: 8Gi, pods: "58" }
  allocatable: { cpu: 1900m, memory: 7Gi, pods: "58" }
  conditions: [{ type: Ready, status: "True" }]
${[1, 2]
  .map(
    (i) => `---
apiVersion: v1
kind: Pod
metadata: { name: big-${i}, namespace: shop }
spec:
  nodeName: n1
  containers: [{ name: c, image: x, resources: { requests: { cpu: 1500m, memory: 1Gi } } }]
status: { phase: Running }`,
  )
  .join("\n")}
`,
    });
    const failure = await runTiny(tinyScenario({ duration: "10m" }), overcommitted).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SimulationFailure);
    expect((failure as SimulationFailure).invariant).toBe("fit");
  });
});

describe("PDB-respecting eviction", () => {
  // Twelve pods on 1-cpu requests, scaled to 12 then consolidated: drains evict through the eviction API.
  const world = (pdb: boolean) =>
    tinyManifests({
      replicas: 12,
      extra: pdb
        ? `---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: shop }
spec: { maxUnavailable: 1, selector: { matchLabels: { app: web } } }
`
        : "",
    });
  const scenario = () =>
    tinyScenario({
      duration: "90m",
      seed: 4,
      // Half the pods go at 30 minutes: the nodes left half empty are consolidated. A replacement pod
      // takes a minute to become Ready, so a drain's dip is visible.
      timeline: [{ at: "30m", scale: { app: "shop/web", replicas: 6 } }],
      apps: [{ app: "shop/web", startSeconds: 5, readySeconds: 60 }],
    });

  /** The fewest Ready pods of shop/web the decision step saw once the scale-down was done (t > 31 min). */
  async function lowestReady(pdb: boolean): Promise<{ lowest: number; evictions: number }> {
    let lowest = Number.POSITIVE_INFINITY;
    const r = await runTiny(scenario(), world(pdb), {
      onDecision: (_s, t, _d, state) => {
        if (t < 31 * 60) return;
        const ready = state.pods.filter(
          (p) => p.owner?.name === "web" && p.phase === "Running" && !p.terminating,
        ).length;
        lowest = Math.min(lowest, ready);
      },
    });
    return { lowest, evictions: r.strategies.nodeplan?.summary.evictions ?? 0 };
  }

  test("with maxUnavailable 1, at most one pod is ever down to a drain; without the PDB more are", async () => {
    const withPdb = await lowestReady(true);
    expect(withPdb.evictions).toBeGreaterThan(0);
    expect(withPdb.lowest).toBeGreaterThanOrEqual(5);
    const without = await lowestReady(false);
    expect(without.evictions).toBeGreaterThan(0);
    expect(without.lowest).toBeLessThan(5);
  });
});

describe("invariants hold on random timelines", () => {
  const event = fc.oneof(
    fc.record({ at: fc.integer({ min: 1, max: 110 }), scale: fc.integer({ min: 0, max: 30 }) }),
    fc.record({ at: fc.integer({ min: 1, max: 110 }), commit: fc.constantFrom("web:2", "web:3") }),
    fc.record({ at: fc.integer({ min: 1, max: 110 }), cpu: fc.constantFrom("500m", "1500m") }),
    fc.record({ at: fc.integer({ min: 1, max: 110 }), interrupt: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ at: fc.integer({ min: 1, max: 110 }), ami: fc.constantFrom("ami-2", "ami-3") }),
  );
  test("nothing bound where it does not fit; no PDB, budget or NodePool limit exceeded", async () => {
    const seen = { evictions: 0, disruptions: 0, launches: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1000 }),
        async (events, spot, seed) => {
          const timeline = events.map((e) => {
            const at = `${e.at}m`;
            if ("scale" in e) return { at, scale: { app: "shop/web", replicas: e.scale } };
            if ("commit" in e) return { at, commit: { app: "shop/web", image: e.commit } };
            if ("cpu" in e) return { at, commit: { app: "shop/web", requests: { cpu: e.cpu } } };
            if ("interrupt" in e)
              return { at, interrupt: { count: e.interrupt, capacityType: spot ? "spot" : "on-demand" } };
            return { at, amiRelease: { image: e.ami } };
          });
          const scenario = tinyScenario({
            duration: "2h",
            seed,
            strategies: ["nodeplan", "karpenter"],
            timeline,
            settings: {
              spot: { interruptionsPerHour: spot ? 0.5 : 0 },
              capacity: [{ instanceType: "medium", zone: "z1", from: "10m", until: "50m" }],
              nodes: { bootSeconds: { uniform: { min: 20, max: 90 } }, launchFailureRate: 0.05 },
            },
          });
          const manifests = tinyManifests({
            replicas: 6,
            capacityType: spot ? "spot" : "on-demand",
            extra: `---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: shop }
spec: { maxUnavailable: 1, selector: { matchLabels: { app: web } } }
`,
          }).replace('budgets: [{ nodes: "50%" }]', 'budgets: [{ nodes: "50%" }]\n  limits: { cpu: "64" }');
          const r = await runTiny(scenario, manifests);
          for (const run of Object.values(r.strategies)) {
            seen.evictions += run.summary.evictions;
            seen.disruptions += Object.values(run.summary.disruptions).reduce((x, y) => x + y, 0);
            seen.launches += run.summary.launches;
          }
        },
      ),
      { numRuns: 6, seed: 20261102 },
    );
    // The runs did exercise the invariants' paths: evictions (PDB), disruptions (budgets), launches (limits).
    expect(seen.evictions).toBeGreaterThan(0);
    expect(seen.disruptions).toBeGreaterThan(0);
    expect(seen.launches).toBeGreaterThan(0);
  }, 600_000);
});
