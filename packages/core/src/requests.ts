import { addResources, maxResources, PODS, type Resources } from "./resources.ts";

/**
 * A pod's effective requests, as the scheduler and Karpenter count them: Kubernetes' PodRequests
 * (k8s.io/component-helpers/resource/helpers.go) with sidecar accounting from KEP-753.
 */

/** A container's already-parsed requests and limits (model keys). */
export type ContainerResources = { requests?: Resources; limits?: Resources };

/** An init container; `restartPolicy: "Always"` makes it a sidecar (restartable init container). */
export type InitContainerResources = ContainerResources & { restartPolicy?: "Always" };

/** The parts of a pod spec that decide its requests. */
export type PodResourceSpec = {
  containers: readonly ContainerResources[];
  initContainers?: readonly InitContainerResources[];
  overhead?: Resources;
};

/**
 * A container's requests after API defaulting: a resource with a limit but no request requests
 * its limit (SetDefaults_Pod); an explicit request, even 0, is kept.
 */
export function containerRequests(container: ContainerResources): Resources {
  return addResources({}, { ...(container.limits ?? {}), ...(container.requests ?? {}) });
}

/**
 * The pod's effective requests, per resource:
 * max(app containers + all sidecars, the largest need of any init container) + overhead, and
 * always `pods: 1`.
 *
 * Init containers run in order, and every sidecar started before one keeps running while it does,
 * so (helpers.go, aggregateContainerResourcesByFn; KEP-753 "Exposing Pod Resource Requirements"):
 * a regular init container needs its own requests + the sum of the sidecars before it; a sidecar
 * needs the sum of the sidecars up to and including itself. Sidecars also run next to the app
 * containers, so they are added to the app sum. Sidecars after a regular init container do not
 * count toward that container's need.
 */
export function effectiveRequests(spec: PodResourceSpec): Resources {
  let app: Resources = {};
  for (const container of spec.containers) app = addResources(app, containerRequests(container));

  let sidecars: Resources = {};
  let initNeed: Resources = {};
  for (const init of spec.initContainers ?? []) {
    const own = containerRequests(init);
    let need: Resources;
    if (init.restartPolicy === "Always") {
      app = addResources(app, own);
      sidecars = addResources(sidecars, own);
      need = sidecars;
    } else {
      need = addResources(own, sidecars);
    }
    initNeed = maxResources(initNeed, need);
  }

  const total = addResources(maxResources(app, initNeed), spec.overhead ?? {});
  // Adding the empty vector re-sorts the keys after `pods` is set.
  return addResources({ ...total, [PODS]: 1 }, {});
}
