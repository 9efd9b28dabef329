import type { ManifestInput } from "@nodeplan/k8s-adapter";
import type { SimulationResult } from "@nodeplan/simulator";
import type { SimulateRequest, SimulateResult } from "./run-simulate.ts";

/** A bundled simulation scenario and the manifest files it names (paths relative to the scenario). */
export interface BundledSimulation {
  name: string;
  scenario: ManifestInput;
  files: ManifestInput[];
}

/** What the tab needs from the page: the bundled scenarios, the page's own files, the worker. */
export interface SimulateTabHost {
  simulations: readonly BundledSimulation[];
  /** The manifest files on the page (a scenario written by hand may name them). */
  pageFiles(): ManifestInput[];
  run(
    request: SimulateRequest,
    progress: (strategy: string, fraction: number) => void,
  ): Promise<{ ok: true; result: SimulateResult } | { ok: false; message: string }>;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const PLAY_MILLIS = 12_000;

/**
 * The Simulate tab: pick (or edit) a scenario, run it in the worker, then play the chart: a cursor
 * moves over the day and the readout shows each strategy's cost, nodes and pending pods at that time.
 */
export function mountSimulateTab(view: HTMLElement, host: SimulateTabHost): void {
  const select = el(
    "select",
    { id: "sim-scenario", "aria-label": "scenario" },
    ...host.simulations.map((s) => el("option", { value: s.name }, s.name)),
  );
  const duration = el("input", { id: "sim-duration", size: "6", value: "6h", "aria-label": "duration" });
  const nodeplan = el("input", { id: "sim-nodeplan", type: "checkbox" });
  const karpenter = el("input", { id: "sim-karpenter", type: "checkbox" });
  nodeplan.checked = true;
  karpenter.checked = true;
  const runButton = el("button", { id: "sim-run", type: "button", class: "primary" }, "Run");
  const status = el("span", { id: "sim-status", role: "status" });
  const editor = el("textarea", { id: "sim-editor", spellcheck: "false", "aria-label": "scenario file" });
  const chart = el("div", { id: "sim-chart", class: "sim-chart" });
  const play = el("button", { id: "sim-play", type: "button", disabled: "" }, "play");
  const scrub = el("input", {
    id: "sim-scrub",
    type: "range",
    min: "0",
    max: "1000",
    value: "0",
    disabled: "",
  });
  const readout = el("span", { id: "sim-readout", class: "sim-readout" });
  const report = el("pre", { id: "sim-report", class: "sim-report" });
  view.replaceChildren(
    el(
      "div",
      { class: "row" },
      el("label", {}, "Scenario ", select),
      el("label", {}, "duration ", duration),
      el("label", {}, nodeplan, " nodeplan"),
      el("label", {}, karpenter, " karpenter"),
      runButton,
      status,
    ),
    el(
      "details",
      {},
      el("summary", {}, "scenario file (editable; its manifests are the example's or the page's files)"),
      editor,
    ),
    chart,
    el("div", { class: "row" }, play, scrub, readout),
    report,
  );

  const current = () => host.simulations.find((s) => s.name === select.value);
  const load = () => {
    editor.value = current()?.scenario.text ?? "";
  };
  select.addEventListener("change", load);
  load();

  let shown: SimulationResult | undefined;
  let latest = 0;
  runButton.addEventListener("click", async () => {
    const bundled = current();
    const strategies = [nodeplan.checked ? "nodeplan" : "", karpenter.checked ? "karpenter" : ""].filter(
      (s) => s !== "",
    );
    if (strategies.length === 0) {
      status.textContent = "choose at least one strategy";
      return;
    }
    const mine = ++latest;
    view.dataset.state = "running";
    status.textContent = "simulating…";
    const started = performance.now();
    const reply = await host.run(
      {
        scenario: { source: bundled?.scenario.source ?? "scenario.yaml", text: editor.value },
        files: [...(bundled?.files ?? []), ...host.pageFiles()],
        duration: duration.value,
        strategies: strategies.join(","),
      },
      (strategy, fraction) => {
        if (mine === latest) status.textContent = `simulating ${strategy}: ${Math.round(fraction * 100)}%`;
      },
    );
    if (mine !== latest) return;
    if (!reply.ok) {
      view.dataset.state = "failed";
      status.textContent = "";
      report.textContent = reply.message;
      chart.replaceChildren();
      return;
    }
    status.textContent = `simulated ${reply.result.result.durationSeconds / 3600} h in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    shown = reply.result.result;
    // The chart is the simulator's own SVG (no script in it), as `nodeplan simulate -o svg` writes it.
    chart.innerHTML = reply.result.svg;
    report.textContent = [reply.result.text, ...reply.result.notes.map((n) => `note: ${n}`)].join("\n");
    play.removeAttribute("disabled");
    scrub.removeAttribute("disabled");
    scrub.value = "0";
    show(0);
    view.dataset.state = "done";
  });

  /** Moves the cursor to a fraction of the period and reads every strategy's values there. */
  const show = (fraction: number) => {
    const svg = chart.querySelector("svg");
    if (svg === null || shown === undefined) return;
    const left = Number(svg.dataset.plotLeft);
    const right = Number(svg.dataset.plotRight);
    const x = left + (right - left) * fraction;
    const cursor = svg.querySelector(".cursor");
    cursor?.setAttribute("x1", x.toFixed(1));
    cursor?.setAttribute("x2", x.toFixed(1));
    cursor?.setAttribute("visibility", "visible");
    const t = shown.durationSeconds * fraction;
    const parts = Object.entries(shown.strategies).map(([name, run]) => {
      let point = run.series[0];
      for (const p of run.series) if (p.t <= t) point = p;
      return point === undefined
        ? name
        : `${name}: $${point.costPerHour.toFixed(2)}/h, ${point.nodes} nodes, ${point.pendingPods} pending`;
    });
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    readout.textContent = `${h}:${String(m).padStart(2, "0")}  ${parts.join("  |  ")}`;
    readout.dataset.t = String(Math.round(t));
  };
  scrub.addEventListener("input", () => show(Number(scrub.value) / 1000));

  let playing = 0;
  play.addEventListener("click", () => {
    const mine = ++playing;
    const from = Number(scrub.value) >= 1000 ? 0 : Number(scrub.value) / 1000;
    const start = performance.now() - from * PLAY_MILLIS;
    const step = (now: number) => {
      if (mine !== playing) return;
      const f = Math.min(1, (now - start) / PLAY_MILLIS);
      scrub.value = String(Math.round(f * 1000));
      show(f);
      if (f < 1) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
}
