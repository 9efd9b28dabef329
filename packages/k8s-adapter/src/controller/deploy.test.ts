import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { rulesIn } from "./testing/rbac.test-helper.ts";

/**
 * deploy/ as a reviewer would check it for least privilege (what the controller actually writes is
 * checked against these files by the fault harness, faults.test.ts).
 */
const read = (file: string) => readFileSync(new URL(`../../../../deploy/${file}`, import.meta.url), "utf8");
const docs = (file: string) => parseAllDocuments(read(file)).map((d) => d.toJS() as Record<string, unknown>);

describe("deploy/", () => {
  it("advisory (the default install) is read-only apart from Events, its status ConfigMap and its Lease", () => {
    expect(parse(read("kustomization.yaml")).resources).toEqual(["base"]);
    const writes = rulesIn("base/rbac.yaml").flatMap((r) =>
      r.verbs
        .filter((v) => !["get", "list", "watch"].includes(v))
        .flatMap((v) =>
          r.resources.map((res) => `${v} ${res}${r.resourceNames ? ` ${r.resourceNames}` : ""}`),
        ),
    );
    expect(writes.sort()).toEqual([
      "create configmaps",
      "create events",
      "create leases",
      "update configmaps nodeplan-status",
      "update leases nodeplan-controller",
    ]);
    const deployment = docs("base/deployment.yaml")[0] as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.args[1]).toBe("--mode=advisory");
  });

  it("acting is an overlay: its write RBAC, and a patch that turns the mode flag to acting", () => {
    const k = parse(read("acting/kustomization.yaml")) as {
      resources: string[];
      patches: { path: string }[];
    };
    expect(k.resources).toEqual(["../base", "rbac-acting.yaml"]);
    const patch = parse(read(`acting/${k.patches[0]?.path}`)) as {
      op: string;
      path: string;
      value: string;
    }[];
    expect(patch[0]).toEqual({
      op: "replace",
      path: "/spec/template/spec/containers/0/args/1",
      value: "--mode=acting",
    });
    expect(patch.map((p) => p.value.split("=")[0])).toEqual([
      "--mode",
      "--cluster-name",
      "--cluster-endpoint",
      "--cluster-ca-bundle",
      "--kubernetes-version",
    ]);
  });

  it("a NetworkPolicy admits only the monitoring namespace to the metrics port", () => {
    expect(parse(read("base/kustomization.yaml")).resources).toContain("networkpolicy.yaml");
    const policy = docs("base/networkpolicy.yaml")[0] as {
      kind: string;
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: { ports: { port: number }[] }[];
      };
    };
    expect(policy.kind).toBe("NetworkPolicy");
    expect(policy.spec.podSelector.matchLabels).toEqual({
      "app.kubernetes.io/name": "nodeplan",
      "app.kubernetes.io/component": "controller",
    });
    expect(policy.spec.ingress.flatMap((i) => i.ports.map((p) => p.port))).toEqual([8080]);
  });

  it("IAM: instances and templates are terminated, deleted and used only when tagged with the cluster and a NodePool", () => {
    const policy = JSON.parse(read("iam-policy.json")) as {
      Statement: {
        Sid: string;
        Action: string | string[];
        Resource: string | string[];
        Condition?: Record<string, Record<string, unknown>>;
      }[];
    };
    const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
    for (const s of policy.Statement) {
      const actions = list(s.Action);
      const resources = list(s.Resource);
      const conditions = JSON.stringify(s.Condition ?? {});
      if (actions.includes("ec2:TerminateInstances") || actions.includes("ec2:DeleteLaunchTemplate")) {
        expect(conditions, s.Sid).toContain('"aws:ResourceTag/kubernetes.io/cluster/CLUSTER_NAME":"owned"');
        expect(conditions, s.Sid).toContain('"aws:ResourceTag/karpenter.sh/nodepool":"*"');
      }
      // Any statement that lets CreateFleet/RunInstances touch a launch template requires the template's
      // tags; creating one requires them on the request.
      if (resources.some((r) => r.includes("launch-template"))) {
        const tag =
          actions.includes("ec2:CreateLaunchTemplate") || actions.includes("ec2:CreateTags")
            ? "RequestTag"
            : "ResourceTag";
        expect(conditions, s.Sid).toContain(`"aws:${tag}/kubernetes.io/cluster/CLUSTER_NAME":"owned"`);
        expect(conditions, s.Sid).toContain(`"aws:${tag}/karpenter.sh/nodepool":"*"`);
      }
      if (
        actions.some((a) => a === "ec2:CreateFleet" || a === "ec2:RunInstances") &&
        resources.some((r) => r.includes(":instance/"))
      )
        expect(conditions, s.Sid).toContain('"aws:RequestTag/karpenter.sh/nodepool":"*"');
    }
  });

  it("the image: every stage from a digest-pinned base; no dependencies, history or build output in the context", () => {
    const dockerfile = read("Dockerfile");
    const args = new Map([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] as string);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? "");
      expect(image).toMatch(/^node:24[\w.-]*@sha256:[0-9a-f]{64}$/);
    }
    const ignored = readFileSync(new URL("../../../../.dockerignore", import.meta.url), "utf8").split("\n");
    for (const entry of [".git", "**/node_modules", "**/dist"]) expect(ignored).toContain(entry);
  });
});
