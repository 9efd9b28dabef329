import type { PodSpecShape } from "./k8s-shapes.ts";

type QuantityInput = string | number;
type ResourceListInput = Record<string, QuantityInput>;

/** One LimitRange `Container` item, as read. */
export interface LimitRangeItem {
  type: string;
  default?: ResourceListInput;
  defaultRequest?: ResourceListInput;
  max?: ResourceListInput;
  min?: ResourceListInput;
}

/**
 * The defaults a LimitRange `Container` item applies, after the API server's own defaulting of the
 * item (SetDefaults_LimitRangeItem): default limit = `default`, else `max`; default request =
 * `defaultRequest`, else the default limit, else `min`.
 */
function containerDefaults(item: LimitRangeItem): { limits: ResourceListInput; requests: ResourceListInput } {
  const limits: ResourceListInput = { ...(item.max ?? {}), ...(item.default ?? {}) };
  const requests: ResourceListInput = { ...(item.min ?? {}), ...limits, ...(item.defaultRequest ?? {}) };
  return { limits, requests };
}

function applyToContainer<
  C extends { resources?: { requests?: ResourceListInput; limits?: ResourceListInput } },
>(container: C, defaults: { limits: ResourceListInput; requests: ResourceListInput }): C {
  const requests = { ...(container.resources?.requests ?? {}) };
  const limits = { ...(container.resources?.limits ?? {}) };
  for (const [key, value] of Object.entries(defaults.requests)) {
    // A container with only a limit already has request = limit (pod defaulting runs before admission).
    if (!(key in requests) && !(key in limits)) requests[key] = value;
  }
  for (const [key, value] of Object.entries(defaults.limits)) {
    if (!(key in limits)) limits[key] = value;
  }
  return { ...container, resources: { ...(container.resources ?? {}), requests, limits } };
}

/**
 * Applies a namespace's LimitRanges to a pod template the way the LimitRanger admission plugin does
 * when the pod is created: a missing container limit gets the default limit and a missing request
 * the default request (init containers too). Earlier LimitRanges win, as later ones see the value set.
 */
export function applyLimitRanges(spec: PodSpecShape, items: readonly LimitRangeItem[]): PodSpecShape {
  let out = spec;
  for (const item of items) {
    if (item.type !== "Container") continue;
    const defaults = containerDefaults(item);
    out = {
      ...out,
      containers: out.containers.map((c) => applyToContainer(c, defaults)),
      ...(out.initContainers === undefined
        ? {}
        : { initContainers: out.initContainers.map((c) => applyToContainer(c, defaults)) }),
    };
  }
  return out;
}
