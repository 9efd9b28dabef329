import { stringify } from "yaml";

/** Objects as multi-document YAML (`---` between documents), ready for `kubectl apply -f -`. */
export function toYaml(objects: readonly unknown[]): string {
  // No anchors: a repeated object (shared requirements) is printed again, as kubectl would.
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

/** Objects as one JSON `List` (what `kubectl apply -f` accepts and `kubectl get -o json` prints). */
export function toJson(objects: readonly unknown[]): string {
  return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`;
}
