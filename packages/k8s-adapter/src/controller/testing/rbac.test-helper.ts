import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { RecordedRequest } from "./fake-apiserver.ts";

/** An RBAC rule as written in deploy/ (Role or ClusterRole). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const deploy = new URL("../../../../../deploy/", import.meta.url);

/** The rules of every Role and ClusterRole in a deploy/ file. */
export function rulesIn(file: string): PolicyRule[] {
  const text = readFileSync(new URL(file, deploy), "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; rules?: PolicyRule[] })
    .filter((o) => o?.kind === "Role" || o?.kind === "ClusterRole")
    .flatMap((o) => o.rules ?? []);
}

/** What a request asks RBAC for: API group, resource (with subresource), name, verb. */
export function attributesOf(r: Pick<RecordedRequest, "method" | "path">): {
  group: string;
  resource: string;
  name: string | undefined;
  verb: string;
} {
  const parts = r.path.split("/").filter((p) => p !== "");
  let group: string;
  let rest: string[];
  if (parts[0] === "api") [group, rest] = ["", parts.slice(2)];
  else [group, rest] = [parts[1] ?? "", parts.slice(3)];
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [resource = "", name, sub] = rest;
  const verb =
    r.method === "POST"
      ? "create"
      : r.method === "PUT"
        ? "update"
        : r.method === "PATCH"
          ? "patch"
          : r.method === "DELETE"
            ? "delete"
            : "get";
  // POST to a subresource (pods/x/eviction) creates it; the object is the named one.
  return { group, resource: sub === undefined ? resource : `${resource}/${sub}`, name, verb };
}

/** Whether some rule allows the request (create is never limited by resourceNames, as in Kubernetes). */
export function allows(rules: readonly PolicyRule[], r: Pick<RecordedRequest, "method" | "path">): boolean {
  const a = attributesOf(r);
  return rules.some(
    (rule) =>
      rule.apiGroups.includes(a.group) &&
      rule.resources.includes(a.resource) &&
      rule.verbs.includes(a.verb) &&
      (rule.resourceNames === undefined ||
        (a.verb !== "create" && a.name !== undefined && rule.resourceNames.includes(a.name))),
  );
}
