import { describe, expect, test } from "vitest";
import { doctorOn, inputFor } from "./doctor.test-helper.ts";
import { buildGraph, globMatches } from "./graph.ts";

/** The graph rules read: what belongs to what. */

const pod = (name: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
  labels: { app: worker }
${extra}spec:
  nodeName: node-a
  containers: [{ name: worker, image: registry.example.com/worker:1, resources: { requests: { cpu: 100m, memory: 1Gi } } }]
status: { phase: Running }
`;

describe("workloads", () => {
  test("bare pods of one app and image are one workload: one finding, named for all, without a per-pod fix", async () => {
    const text = [pod("worker-0"), pod("worker-1"), pod("worker-2")].join("---\n");
    const pool = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: { name: general }
spec:
  template:
    spec:
      nodeClassRef: { group: karpenter.k8s.aws, kind: EC2NodeClass, name: default }
      requirements: [{ key: karpenter.sh/capacity-type, operator: In, values: [on-demand] }]
  limits: { cpu: "10" }
`;
    const report = await doctorOn([
      { source: "pods.yaml", text },
      { source: "pool.yaml", text: pool },
    ]);
    const memory = report.findings.filter((f) => f.rule === "memory-limit-above-request");
    expect(memory).toHaveLength(1);
    expect(memory[0]?.message).toMatch(/^3 Pods like shop\/worker-0 /);
    expect(memory[0]?.fix).toBeUndefined();
  });

  test("a ReplicaSet its Deployment owns is read through the Deployment; its pods are the Deployment's", async () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: api, image: api:1 }] }
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-5f6d
  namespace: shop
  ownerReferences: [{ apiVersion: apps/v1, kind: Deployment, name: api, controller: true }]
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api, pod-template-hash: 5f6d } }
    spec: { containers: [{ name: api, image: api:1 }] }
---
${pod("api-5f6d-x").replace("labels: { app: worker }", 'labels: { app: api, pod-template-hash: "5f6d" }\n  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: api-5f6d, controller: true }]')}`;
    const graph = buildGraph(await inputFor([{ source: "api.yaml", text }]));
    expect(graph.workloads.map((w) => `${w.kind} ${w.name} ${w.pods.map((p) => p.name).join(",")}`)).toEqual([
      "Deployment api api-5f6d-x",
    ]);
  });
});

describe("Argo CD tracking", () => {
  const app = (spec: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: { name: platform, namespace: argocd }
spec:
  source:
${spec}`;
  const claimFile = (source: string, labels = "") => ({
    source,
    text: `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${source.replaceAll(/[/.]/g, "-")}
  namespace: default${labels}
data: {}
`,
  });
  const tracked = async (spec: string, files: ReturnType<typeof claimFile>[]) => {
    const graph = buildGraph(await inputFor([{ source: "argocd.yaml", text: app(spec) }, ...files]));
    return graph.apps[0]?.tracked.map((o) => o.manifest.source).sort();
  };

  test("a directory source tracks the files of its folder, matched on the end of either path", async () => {
    const files = [
      claimFile("clusters/prod/karpenter/a.yaml"),
      claimFile("karpenter/b.yaml"),
      claimFile("clusters/prod/karpenter/sub/c.yaml"),
      claimFile("other/d.yaml"),
    ];
    expect(await tracked("    path: clusters/prod/karpenter\n", files)).toEqual([
      "clusters/prod/karpenter/a.yaml",
      "karpenter/b.yaml",
    ]);
    expect(
      await tracked("    path: clusters/prod/karpenter\n    directory: { recurse: true }\n", files),
    ).toEqual(["clusters/prod/karpenter/a.yaml", "clusters/prod/karpenter/sub/c.yaml", "karpenter/b.yaml"]);
    expect(
      await tracked(
        '    path: clusters/prod/karpenter\n    directory: { recurse: true, exclude: "{sub/*,b.yaml}" }\n',
        files,
      ),
    ).toEqual(["clusters/prod/karpenter/a.yaml"]);
    expect(await tracked('    path: karpenter\n    directory: { include: "b*.yaml" }\n', files)).toEqual([
      "karpenter/b.yaml",
    ]);
    // A Helm chart renders what the input does not hold.
    expect(
      await tracked("    chart: karpenter\n    repoURL: oci://public.ecr.aws/karpenter\n", files),
    ).toEqual([]);
  });

  test("the tracking label and annotation", async () => {
    const files = [
      claimFile("x/a.yaml", "\n  labels: { app.kubernetes.io/instance: platform }"),
      claimFile(
        "x/b.yaml",
        '\n  annotations: { argocd.argoproj.io/tracking-id: "platform:/ConfigMap:default/x-b-yaml" }',
      ),
      claimFile("x/c.yaml", "\n  labels: { app.kubernetes.io/instance: other }"),
    ];
    expect(await tracked("    path: elsewhere\n", files)).toEqual(["x/a.yaml", "x/b.yaml"]);
  });

  test("globs: *, **, ? and {a,b}", () => {
    expect(globMatches("*.yaml", "a.yaml")).toBe(true);
    expect(globMatches("*.yaml", "sub/a.yaml")).toBe(false);
    expect(globMatches("**/*.yaml", "sub/deep/a.yaml")).toBe(true);
    expect(globMatches("{a,b}.yaml", "b.yaml")).toBe(true);
    expect(globMatches("{a,b}.yaml", "c.yaml")).toBe(false);
    expect(globMatches("?.json", "a.json")).toBe(true);
    expect(globMatches("a.yaml", "a-yaml")).toBe(false);
  });
});
