import type { InputError, IssuePath } from "./errors.ts";

/**
 * Label keys Karpenter treats specially, and the rules it applies to label keys in NodePools.
 * Source: kubernetes-sigs/karpenter pkg/apis/v1/labels.go and the NodePool CRD's CEL rules.
 */

/** `topology.kubernetes.io/zone`. */
export const LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone";
/** `topology.kubernetes.io/region`. */
export const LABEL_TOPOLOGY_REGION = "topology.kubernetes.io/region";
/** `node.kubernetes.io/instance-type`. */
export const LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type";
/** `kubernetes.io/arch`. */
export const LABEL_ARCH = "kubernetes.io/arch";
/** `kubernetes.io/os`. */
export const LABEL_OS = "kubernetes.io/os";
/** `node.kubernetes.io/windows-build`. */
export const LABEL_WINDOWS_BUILD = "node.kubernetes.io/windows-build";
/** `karpenter.sh/capacity-type` (values `on-demand`, `spot`, `reserved`). */
export const LABEL_CAPACITY_TYPE = "karpenter.sh/capacity-type";
/**
 * The capacity reservation a reserved node launches into. Karpenter core leaves the key to the provider
 * (cloudprovider.ReservationIDLabel); the AWS provider's is this one.
 */
export const LABEL_CAPACITY_RESERVATION_ID = "karpenter.k8s.aws/capacity-reservation-id";
/** `karpenter.sh/nodepool`: set by Karpenter on every node it launches. */
export const LABEL_NODEPOOL = "karpenter.sh/nodepool";
/** `kubernetes.io/hostname`: restricted in NodePools, not well known (a new claim has no hostname yet). */
export const LABEL_HOSTNAME = "kubernetes.io/hostname";
/** `karpenter.sh/initialized`: set once a node is ready with its resources registered. */
export const LABEL_NODE_INITIALIZED = "karpenter.sh/initialized";
/** `karpenter.sh/registered`: set once the node joined the cluster. */
export const LABEL_NODE_REGISTERED = "karpenter.sh/registered";

/** Capacity type values Karpenter knows (WellKnownValuesForRequirements). */
export const CAPACITY_TYPES = Object.freeze(["on-demand", "reserved", "spot"] as const);

/**
 * Karpenter core's WellKnownLabels, sorted: a pod may require them even when the node side does not
 * define them yet (the provider narrows them per instance type and offering). `kubernetes.io/hostname`
 * is deliberately absent, as in Karpenter: it is a restricted label, and a pod that names a hostname
 * must not be treated as satisfiable by a claim that has none.
 */
export const WELL_KNOWN_LABELS: readonly string[] = Object.freeze(
  [
    LABEL_NODEPOOL,
    LABEL_TOPOLOGY_ZONE,
    LABEL_TOPOLOGY_REGION,
    LABEL_INSTANCE_TYPE,
    LABEL_ARCH,
    LABEL_OS,
    LABEL_CAPACITY_TYPE,
    LABEL_WINDOWS_BUILD,
  ].sort(),
);

/** `WELL_KNOWN_LABELS` as a set, for `compatible(..., { allowUndefined })`. */
export const WELL_KNOWN_LABEL_SET: ReadonlySet<string> = new Set(WELL_KNOWN_LABELS);

/**
 * Returns a frozen, sorted, de-duplicated list of `base` plus a provider's labels (the AWS provider adds
 * `karpenter.k8s.aws/instance-family`, `topology.k8s.aws/zone-id`, ...), as Karpenter providers extend
 * WellKnownLabels at start-up.
 */
export function extendWellKnownLabels(
  extra: Iterable<string>,
  base: readonly string[] = WELL_KNOWN_LABELS,
): readonly string[] {
  return Object.freeze([...new Set([...base, ...extra])].sort());
}

/**
 * Label domains reserved by Karpenter core. Providers add their own (`karpenter.k8s.aws`); pass them
 * through `LabelKeyRules.restrictedDomains`.
 */
export const RESTRICTED_LABEL_DOMAINS: readonly string[] = Object.freeze(["karpenter.sh"]);

/** Label keys that must not appear in NodePool requirements or template labels. */
export const RESTRICTED_LABELS: readonly string[] = Object.freeze([LABEL_HOSTNAME, LABEL_NODEPOOL]);

/**
 * Deprecated label keys and the well-known key each means; Karpenter rewrites them when it builds a
 * requirement so that pods written against the beta labels still match.
 */
export const NORMALIZED_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "failure-domain.beta.kubernetes.io/zone": LABEL_TOPOLOGY_ZONE,
  "failure-domain.beta.kubernetes.io/region": LABEL_TOPOLOGY_REGION,
  "beta.kubernetes.io/arch": LABEL_ARCH,
  "beta.kubernetes.io/os": LABEL_OS,
  "beta.kubernetes.io/instance-type": LABEL_INSTANCE_TYPE,
});

/** The well-known key a deprecated alias stands for, or the key itself. */
export function normalizeLabelKey(key: string): string {
  return Object.hasOwn(NORMALIZED_LABELS, key) ? (NORMALIZED_LABELS[key] as string) : key;
}

const labelNamePattern = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Kubernetes' IsQualifiedName: an optional DNS-subdomain prefix (at most 253 characters) and `/`, then
 * a name of at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
 */
export function isQualifiedName(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? (parts[1] as string) : key;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0 || prefix.length > 253 || !dnsSubdomainPattern.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && labelNamePattern.test(name);
}

/** Kubernetes' IsValidLabelValue: empty, or at most 63 characters shaped like a label name. */
export function isValidLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && labelNamePattern.test(value));
}

/** The domain (prefix before `/`) of a label key, or "" when it has none. */
export function labelDomain(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

/** Which well-known labels and restricted domains apply (a provider's, on top of core's). */
export interface LabelKeyRules {
  /** Keys allowed even inside a restricted domain. Default `WELL_KNOWN_LABELS`. */
  wellKnownLabels?: ReadonlySet<string> | readonly string[];
  /** Reserved domains (a key whose domain ends with one is rejected). Default `RESTRICTED_LABEL_DOMAINS`. */
  restrictedDomains?: readonly string[];
  /** Where the key appears; picks the error code. Default `requirement`. */
  usage?: "requirement" | "label";
}

/** The outcome of `validateNodePoolLabelKey`. */
export type LabelKeyValidation = { ok: true } | { ok: false; error: InputError };

/**
 * May this key appear in a NodePool's requirements (or template labels)? Karpenter rejects keys that
 * are not qualified names, `karpenter.sh/nodepool` (Karpenter sets it), `kubernetes.io/hostname`, and
 * any key in a restricted domain unless it is well known (`karpenter.sh/capacity-type`). The domain test
 * is the CRD's (`domain.endsWith("karpenter.sh")`), which is stricter than the webhook's suffix-after-dot
 * test; the CRD runs first, so its rule is the one users meet.
 */
export function validateNodePoolLabelKey(
  key: string,
  path: IssuePath = [],
  rules: LabelKeyRules = {},
): LabelKeyValidation {
  const code = rules.usage === "label" ? "invalid_schema" : "invalid_requirement";
  const fail = (expected: string, detail?: string): LabelKeyValidation => {
    const error: InputError = { code, path: [...path], value: key.slice(0, 64), expected };
    if (detail !== undefined) error.detail = detail;
    return { ok: false, error };
  };
  const normalized = normalizeLabelKey(key);
  if (!isQualifiedName(normalized)) {
    return fail("a qualified label key such as example.com/name (63-character name, optional DNS prefix)");
  }
  if (normalized === LABEL_NODEPOOL)
    return fail("a key other than karpenter.sh/nodepool", "restricted label");
  const wellKnown = rules.wellKnownLabels ?? WELL_KNOWN_LABEL_SET;
  const isWellKnown =
    "has" in wellKnown ? wellKnown.has(normalized) : (wellKnown as readonly string[]).includes(normalized);
  if (isWellKnown) return { ok: true };
  const domain = labelDomain(normalized);
  for (const restricted of rules.restrictedDomains ?? RESTRICTED_LABEL_DOMAINS) {
    if (domain.endsWith(restricted)) {
      return fail(
        `a well-known label or a key outside the restricted domain ${restricted}`,
        "restricted label domain",
      );
    }
  }
  if (RESTRICTED_LABELS.includes(normalized))
    return fail(`a key other than ${normalized}`, "restricted label");
  return { ok: true };
}
