// Reading manifests as kubectl and kube-scheduler see them: bare Pods, workloads with their pods,
// HPAs, pod-level resources, unknown fields and kinds from the published schemas, notices, summary.

import * as karpenterModels from "@kubernetes-models/karpenter";
import { renderInputError } from "@nodeplan/core";
import fc from "fast-check";
import * as kubernetesModels from "kubernetes-models";
import { describe, expect, it } from "vitest";
import { readDocuments } from "./documents.ts";
import { loadManifests, MAX_REPLICAS_PER_WORKLOAD } from "./load-manifests.ts";
import { loadSchemas, schemasFromModules } from "./schemas.ts";
import { renderLoadSummary } from "./summary.ts";
import { renderLoadWarning } from "./warnings.ts";

const now = "2026-11-22T12:00:00Z";
const load = (text: string, options = {}) =>
  loadManifests([{ source: "in.yaml", text }], { now, ...options });

const deployment = (extra = "", replicas = "replicas: 3") => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx
          resources: { requests: { cpu: 250m, memory: 256Mi } }
${extra}`;

describe("pods as kube-scheduler sees them", () => {
  it("a bare Pod with no status and no node is pending and provisionable; with a status it needs the Unschedulable mark", () => {
    const result = load(`apiVersion: v1
kind: Pod
metadata: { name: bare, namespace: default }
spec: { containers: [{ name: c, image: nginx }] }
---
apiVersion: v1
kind: Pod
metadata: { name: waiting, namespace: default }
spec: { containers: [{ name: c, image: nginx }] }
status: { phase: Pending }
`);
    const [bare, waiting] = result.cluster.pods;
    expect(bare).toMatchObject({ name: "bare", phase: "Pending", provisionable: true });
    expect(waiting).toMatchObject({ name: "waiting", provisionable: false });
    expect(result.summary.pods).toMatchObject({
      total: 2,
      pending: 1,
      withoutStatus: 1,
      notProvisionable: 1,
    });
  });

  it("kubectl get deploy,po: a Deployment and its running Pods (no ReplicaSet) is not synthesized again", () => {
    const pod = (i: number) => `---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7c9b6-p${i}
  namespace: shop
  labels: { app: web, pod-template-hash: 5d8f7c9b6 }
  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c9b6, uid: u, controller: true }]
spec: { nodeName: node-1, containers: [{ name: web, image: nginx }] }
status: { phase: Running }
`;
    const result = load(deployment() + pod(0) + pod(1) + pod(2));
    expect(result.cluster.pods.map((p) => p.name)).toEqual([0, 1, 2].map((i) => `web-5d8f7c9b6-p${i}`));
    expect(result.summary.pods.synthesized).toBe(0);
  });

  it("an orphan Pod that a Deployment's selector matches is adopted, not planned twice", () => {
    const result = load(`${deployment()}---
apiVersion: v1
kind: Pod
metadata: { name: stray, namespace: shop, labels: { app: web } }
spec: { containers: [{ name: web, image: nginx }] }
`);
    expect(result.cluster.pods.map((p) => p.name)).toEqual(["stray"]);
  });

  it("an HPA keeps replicas within minReplicas..maxReplicas; replicas absent floors at minReplicas", () => {
    const hpa = (min: number, max: number) => `---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web, namespace: shop }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: ${min}
  maxReplicas: ${max}
`;
    expect(load(deployment("", "") + hpa(3, 10)).cluster.pods).toHaveLength(3);
    expect(load(deployment("", "replicas: 20") + hpa(3, 10)).cluster.pods).toHaveLength(10);
    expect(load(deployment("", "replicas: 5") + hpa(3, 10)).cluster.pods).toHaveLength(5);
    expect(load(deployment("", "") + hpa(3, 10), { maxReplicasFromHpa: true }).cluster.pods).toHaveLength(10);
  });

  it("pod-level resources replace the containers' cpu and memory; overhead is still added", () => {
    const result = load(`apiVersion: v1
kind: Pod
metadata: { name: p, namespace: default }
spec:
  resources: { requests: { cpu: "2" }, limits: { memory: 4Gi } }
  overhead: { cpu: 100m }
  containers:
    - { name: a, image: x, resources: { requests: { cpu: 500m, memory: 1Gi } } }
    - { name: b, image: x, resources: { requests: { cpu: 500m } } }
---
apiVersion: v1
kind: Pod
metadata: { name: q, namespace: default }
spec:
  resources: { limits: { cpu: "3", memory: 2Gi } }
  containers: [{ name: a, image: x }]
`);
    const [p, q] = result.cluster.pods;
    // cpu: the pod-level request 2 + overhead; memory: containers request 1Gi, so the pod-level limit does not default it.
    expect(p?.requests).toMatchObject({ cpuMillis: 2100, memoryBytes: 2 ** 30 });
    // No container requests anything: pod-level requests default to the pod-level limits.
    expect(q?.requests).toMatchObject({ cpuMillis: 3000, memoryBytes: 2 * 2 ** 30 });
  });

  it("replicas beyond the cap are an error naming the field; a million replicas load", () => {
    const huge = load(deployment("", "replicas: 2147483648"));
    expect(huge.errors.map(renderInputError)).toEqual([
      `in.yaml: Deployment shop/web: [0].spec.replicas ("2147483648") is out of range: expected at most ${MAX_REPLICAS_PER_WORKLOAD} pods per workload; nodeplan does not plan a workload larger than that (a replica count such as 2^31 is a mistake, not a plan)`,
    ]);
    expect(huge.cluster.pods).toEqual([]);
    const million = load(deployment("", `replicas: ${MAX_REPLICAS_PER_WORKLOAD}`));
    expect(million.errors).toEqual([]);
    expect(million.cluster.pods).toHaveLength(MAX_REPLICAS_PER_WORKLOAD);
    expect(million.cluster.pods.at(-1)?.name).toBe(`web-${MAX_REPLICAS_PER_WORKLOAD - 1}`);
    expect(new Set([million.cluster.pods[0]?.uid, million.cluster.pods[1]?.uid]).size).toBe(2);
  }, 120_000);
});

describe("documents that are not manifests", () => {
  it("empty files, Helm templates, kustomizations and other YAML are notices, not errors", () => {
    const read = readDocuments([
      { source: "empty.yaml", text: "# nothing\n" },
      {
        source: "chart/templates/deploy.yaml",
        text: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
      },
      { source: "app/kustomization.yaml", text: "resources: [deploy.yaml]\n" },
      { source: "package.json", text: '{ "name": "x", "version": "1.0.0" }' },
      { source: "values.yaml", text: "replicaCount: 3\n" },
    ]);
    expect(read.errors).toEqual([]);
    expect(read.objects).toEqual([]);
    expect(read.notices.map((n) => [n.source, n.code])).toEqual([
      ["empty.yaml", "empty_input"],
      ["chart/templates/deploy.yaml", "helm_template"],
      ["app/kustomization.yaml", "kustomization"],
      ["package.json", "not_kubernetes"],
      ["values.yaml", "not_kubernetes"],
    ]);
  });

  it("YAML alias errors are located input errors, not failures", () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`;
    const result = loadManifests([
      { source: "alias.yaml", text: "apiVersion: v1\nkind: Namespace\nmetadata: { name: *missing }\n" },
      { source: "bomb.yaml", text: bomb },
    ]);
    expect(result.errors.map(renderInputError)).toEqual([
      "alias.yaml: [0] is invalid: expected valid YAML aliases (each *alias after its &anchor, at most 1000 per document); line 3, column 19: Unresolved alias (the anchor must be set before the alias): missing",
      "bomb.yaml: [0] is invalid: expected valid YAML aliases (each *alias after its &anchor, at most 1000 per document); line 2, column 8: Excessive alias count indicates a resource exhaustion attack",
    ]);
  });
});

describe("unknown fields and kinds, from the Kubernetes and Karpenter schemas", () => {
  const typos = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop, labels: { any-key: ok } }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          "ima]e": nginx
          resources: { "reque}ts": { cpu: "1" } }
---
apiVersion: apps/v1
kind: "]eployment"
metadata: { name: api, namespace: shop }
spec: {}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: { name: general }
spec:
  template:
    spec:
      requirements: [{ key: kubernetes.io/arch, operator: In, values: [amd64], minValue: 2 }]
      nodeClassRef: { group: karpenter.k8s.aws, kind: EC2NodeClass, name: default }
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: { name: k8s, namespace: monitoring }
spec: { replicas: 2, anything: goes }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: shop }
data: { a: b }
`;
  const schemas = schemasFromModules(kubernetesModels, karpenterModels);

  it("warn naming file, document, object and path; custom resources and unused kinds are counted, not warned", () => {
    const result = loadManifests([{ source: "app.yaml", text: typos }], { now, schemas });
    expect(result.warnings.map(renderLoadWarning)).toEqual([
      'app.yaml, document 1: Deployment shop/web: unknown field "spec.template.spec.containers[0].ima]e" (not in the schema; ignored)',
      'app.yaml, document 1: Deployment shop/web: unknown field "spec.template.spec.containers[0].resources.reque}ts" (not in the schema; ignored)',
      'app.yaml, document 2: ]eployment shop/api: unknown kind "]eployment" in apps/v1 (did you mean Deployment?); the object is ignored',
      'app.yaml, document 3: NodePool general: unknown field "spec.template.spec.requirements[0].minValue" (not in the schema; ignored)',
    ]);
    expect(result.errors).toEqual([]);
    // The typo in requests means no requests: the warning is what tells the user.
    expect(result.cluster.pods[0]?.requests).toEqual({ pods: 1 });
    expect(result.summary.ignored).toEqual([
      { kind: "ConfigMap", count: 1, because: "not_used" },
      { kind: "Prometheus", count: 1, because: "custom_resource" },
      { kind: "]eployment", count: 1, because: "unknown_kind" },
    ]);
    expect(renderLoadSummary(result.summary)).toBe(
      "read 1 file, 5 objects (1 Deployment, 1 NodePool); 1 pod (1 from workload templates), 1 pending; ignored 1 object of kind ConfigMap (not used for planning), 1 of kind Prometheus (custom resource: the pods it makes are not known), 1 of kind ]eployment (unknown kind)",
    );
  });

  it("--strict makes them errors and drops the objects", () => {
    const result = loadManifests([{ source: "app.yaml", text: typos }], { now, schemas, strict: true });
    expect(result.warnings).toEqual([]);
    expect(result.errors.map((e) => [e.object, e.path.join(".")])).toEqual([
      ["Deployment shop/web", "0.spec.template.spec.containers.0.ima]e"],
      ["Deployment shop/web", "0.spec.template.spec.containers.0.resources.reque}ts"],
      ["]eployment shop/api", "1.kind"],
      ["NodePool general", "2.spec.template.spec.requirements.0.minValue"],
    ]);
    expect(result.cluster.pods).toEqual([]);
    expect(result.cluster.nodePools).toEqual([]);
  });

  it("loading the schemas kind by kind (the CLI) finds the same as the whole packages (the browser)", async () => {
    const read = readDocuments([{ source: "app.yaml", text: typos }]);
    const pairs = read.documents.map((d) => ({ apiVersion: d.apiVersion ?? "", kind: d.kind ?? "" }));
    const lazy = await loadSchemas(pairs, (s) => import(s));
    const a = loadManifests(read, { now, schemas: lazy });
    const b = loadManifests(read, { now, schemas });
    expect(a.warnings).toEqual(b.warnings);
    expect(a.summary).toEqual(b.summary);
  });

  it("property: a valid object never gets an unknown-field warning; one added key always does", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("Deployment", "StatefulSet", "Job"),
        fc
          .stringMatching(/^[a-z][a-zA-Z]{2,12}$/)
          .filter((k) => !["name", "image", "resources", "ports", "env", "args", "command"].includes(k)),
        (kind, key) => {
          const version = kind === "Job" ? "batch/v1" : "apps/v1";
          const object = {
            apiVersion: version,
            kind,
            metadata: { name: "x", labels: { [key]: "v" } },
            spec: { template: { spec: { containers: [{ name: "c", image: "i", [key]: 1 }] } } },
          };
          const lookup = schemas.lookup(version, kind);
          if (lookup.status !== "known") return false;
          const unknown = lookup.unknownFields(object);
          // A container field with that name may exist (stdin, tty): then nothing is reported.
          return unknown.every((p) => p.join(".") === `spec.template.spec.containers.0.${key}`);
        },
      ),
    );
  });
});
