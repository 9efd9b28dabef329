import type { ManifestInput } from "@nodeplan/k8s-adapter";
import type { DisruptionResult, DoctorResult, NodeView, PlanRequest, PlanResult } from "./run-plan.ts";
import { type BundledSimulation, mountSimulateTab } from "./simulate-tab.ts";
import type { WorkerProgress, WorkerReply, WorkerRequest } from "./worker.ts";

/** The bundled examples (the repository's examples/ folder, read by scripts/build.mjs). */
declare const NODEPLAN_EXAMPLES: { name: string; files: ManifestInput[]; now?: string }[];
/** The bundled simulation scenarios (examples/simulations) and the example folders they name. */
declare const NODEPLAN_SIMULATIONS: { name: string; scenario: ManifestInput; examples: string[] }[];

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

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

// ---------------------------------------------------------------------------------------------------
// Inputs: a list of named texts (files dropped or chosen, pasted text, an example's files).

let inputs: ManifestInput[] = [];
let selected = 0;
let catalog: ManifestInput | undefined;
let lastResult: PlanResult | undefined;

const editor = $<HTMLTextAreaElement>("editor");

function renderInputs(): void {
  const list = $("files");
  list.replaceChildren(
    ...inputs.map((input, i) => {
      const remove = el("button", { class: "remove", title: `remove ${input.source}`, type: "button" }, "×");
      remove.addEventListener("click", (e) => {
        e.stopPropagation();
        inputs.splice(i, 1);
        selected = Math.min(selected, inputs.length - 1);
        renderInputs();
      });
      const tab = el("li", { class: i === selected ? "file selected" : "file" }, input.source, remove);
      tab.addEventListener("click", () => {
        selected = i;
        renderInputs();
      });
      return tab;
    }),
  );
  editor.value = inputs[selected]?.text ?? "";
  editor.disabled = inputs.length === 0;
  editor.placeholder =
    inputs.length === 0 ? "Load an example, drop manifest files here, or press “paste”." : "";
}

editor.addEventListener("input", () => {
  const current = inputs[selected];
  if (current !== undefined) current.text = editor.value;
});

$("paste").addEventListener("click", () => {
  let n = 1;
  while (inputs.some((i) => i.source === `pasted-${n}.yaml`)) n++;
  inputs.push({ source: `pasted-${n}.yaml`, text: "" });
  selected = inputs.length - 1;
  renderInputs();
  editor.focus();
});

async function addFiles(files: FileList | null): Promise<void> {
  for (const file of Array.from(files ?? [])) {
    inputs.push({ source: file.name, text: await file.text() });
    selected = inputs.length - 1;
  }
  renderInputs();
}

$<HTMLInputElement>("file-input").addEventListener("change", (e) => {
  const target = e.target as HTMLInputElement;
  void addFiles(target.files).then(() => {
    target.value = "";
  });
});

const dropZone = $("input-panel");
dropZone.addEventListener("dragover", (e) => {
  e.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("dragging");
  void addFiles(e.dataTransfer?.files ?? null);
});

const nowInput = $<HTMLInputElement>("now");
nowInput.value = `${new Date().toISOString().slice(0, 19)}Z`;

const exampleSelect = $<HTMLSelectElement>("example");
exampleSelect.replaceChildren(
  el("option", { value: "" }, "choose an example…"),
  ...NODEPLAN_EXAMPLES.map((x) => el("option", { value: x.name }, x.name)),
);
exampleSelect.addEventListener("change", () => {
  const example = NODEPLAN_EXAMPLES.find((x) => x.name === exampleSelect.value);
  if (example === undefined) return;
  inputs = example.files.map((f) => ({ ...f }));
  selected = 0;
  // An example is a snapshot taken at one time: planning it at the wall clock would expire its nodes.
  if (example.now !== undefined) nowInput.value = example.now;
  renderInputs();
});

// Catalog: the embedded offline catalog, or an uploaded catalog JSON.
const catalogFile = $<HTMLInputElement>("catalog-file");
function syncCatalogChoice(): void {
  const upload = $<HTMLInputElement>("catalog-upload").checked;
  catalogFile.disabled = !upload;
  $("catalog-name").textContent = upload ? (catalog?.source ?? "no file chosen") : "";
}
for (const id of ["catalog-embedded", "catalog-upload"]) $(id).addEventListener("change", syncCatalogChoice);
catalogFile.addEventListener("change", async () => {
  const file = catalogFile.files?.[0];
  catalog = file === undefined ? undefined : { source: file.name, text: await file.text() };
  syncCatalogChoice();
});

// ---------------------------------------------------------------------------------------------------
// Solving in the worker.

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const pending = new Map<number, (reply: WorkerReply) => void>();
let nextId = 0;
const progressOf = new Map<number, (strategy: string, fraction: number) => void>();
worker.onmessage = (event: MessageEvent<WorkerReply | WorkerProgress>) => {
  const data = event.data;
  if ("progress" in data) {
    progressOf.get(data.id)?.(data.progress.strategy, data.progress.fraction);
    return;
  }
  pending.get(data.id)?.(data);
  pending.delete(data.id);
  progressOf.delete(data.id);
};
// A worker that cannot start (or dies) answers every waiting request with its error.
worker.onerror = (event) => {
  event.preventDefault();
  for (const [id, resolve] of pending)
    resolve({ id, ok: false, message: `the solver failed: ${event.message}` });
  pending.clear();
};
/** Sends one request to the worker; the answer arrives without blocking the page. */
function ask(mode: "plan" | "consolidate" | "doctor", request: PlanRequest): Promise<WorkerReply> {
  const id = ++nextId;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, mode, request } satisfies WorkerRequest);
  });
}

// The Simulate tab runs `nodeplan simulate` in the worker, with progress on the way.
// A scenario's manifests are bundled once, as planning examples: its files are theirs, named as the
// scenario names them (relative to examples/simulations).
const simulations: BundledSimulation[] = NODEPLAN_SIMULATIONS.map((s) => ({
  name: s.name,
  scenario: s.scenario,
  files: s.examples.flatMap(
    (name) =>
      NODEPLAN_EXAMPLES.find((x) => x.name === name)?.files.map((f) => ({
        source: `../${name}/${f.source.slice(f.source.lastIndexOf("/") + 1)}`,
        text: f.text,
      })) ?? [],
  ),
}));
mountSimulateTab($("tab-simulate"), {
  simulations,
  pageFiles: () => inputs.map(({ source, text }) => ({ source, text })),
  run: (request, progress) => {
    const id = ++nextId;
    progressOf.set(id, progress);
    return new Promise((resolve) => {
      pending.set(id, (reply) =>
        resolve(
          reply.ok
            ? reply.mode === "simulate"
              ? { ok: true, result: reply.result }
              : { ok: false, message: "unexpected reply" }
            : reply,
        ),
      );
      worker.postMessage({ id, mode: "simulate", request } satisfies WorkerRequest);
    });
  },
});
$("open-simulate").addEventListener("click", () => {
  $("result").hidden = false;
  openTab("simulate");
});

const status = $("status");
/** The request of the plan on screen: the Consolidate tab plans over the same input. */
let shownRequest: PlanRequest | undefined;
let latest = 0;

function request(): PlanRequest | string {
  const upload = $<HTMLInputElement>("catalog-upload").checked;
  if (upload && catalog === undefined) return "choose a catalog JSON file, or use the embedded catalog";
  const zones = $<HTMLInputElement>("zones").value.trim();
  const capacityTypes = $<HTMLInputElement>("capacity-types").value.trim();
  return {
    inputs: inputs.map(({ source, text }) => ({ source, text })),
    now: nowInput.value.trim(),
    ...(upload && catalog !== undefined ? { catalog } : {}),
    ...(zones === "" ? {} : { zones }),
    ...(capacityTypes === "" ? {} : { capacityTypes }),
  };
}

$("solve").addEventListener("click", async () => {
  const req = request();
  if (typeof req === "string") {
    showFailure(req);
    return;
  }
  const mine = ++latest;
  status.textContent = "solving…";
  document.body.dataset.state = "solving";
  const started = performance.now();
  const reply = await ask("plan", req);
  if (mine !== latest) return; // a newer Solve is under way
  if (!reply.ok) return showFailure(reply.message);
  if (reply.mode !== "plan") return;
  status.textContent = `solved in ${Math.round(performance.now() - started)} ms (kernel: ${reply.result.kernel})`;
  shownRequest = req;
  showResult(reply.result);
});

// Tabs: the plan, consolidation of the existing nodes and the doctor's findings (each computed when
// its tab is first opened).
let consolidation: "none" | "running" | "done" = "none";
let doctor: "none" | "running" | "done" = "none";
function openTab(name: string): void {
  for (const b of document.querySelectorAll<HTMLElement>(".tabs [data-tab]"))
    b.classList.toggle("active", b.dataset.tab === name);
  $("tab-plan").hidden = name !== "plan";
  $("tab-consolidate").hidden = name !== "consolidate";
  $("tab-simulate").hidden = name !== "simulate";
  $("tab-doctor").hidden = name !== "doctor";
  if (name === "consolidate" && consolidation === "none") void consolidate();
  if (name === "doctor" && doctor === "none") void runDoctor();
}

async function runDoctor(): Promise<void> {
  const req = shownRequest;
  if (req === undefined) return;
  doctor = "running";
  const view = $("tab-doctor");
  view.dataset.state = "running";
  view.replaceChildren(el("p", { class: "hint" }, "checking the configuration…"));
  const reply = await ask("doctor", req);
  if (req !== shownRequest) return; // solved again meanwhile
  doctor = "done";
  if (!reply.ok) {
    view.replaceChildren(el("pre", { class: "error" }, reply.message));
    view.dataset.state = "failed";
  } else if (reply.mode === "doctor") {
    showDoctor(reply.result);
    view.dataset.state = "done";
  }
}
for (const b of document.querySelectorAll<HTMLElement>(".tabs [data-tab]"))
  b.addEventListener("click", () => openTab(b.dataset.tab ?? "plan"));

async function consolidate(): Promise<void> {
  const req = shownRequest;
  if (req === undefined) return;
  consolidation = "running";
  const view = $("tab-consolidate");
  view.dataset.state = "running";
  view.replaceChildren(el("p", { class: "hint" }, "planning consolidation…"));
  const reply = await ask("consolidate", req);
  if (req !== shownRequest) return; // solved again meanwhile
  consolidation = "done";
  if (!reply.ok) {
    view.replaceChildren(el("pre", { class: "error" }, reply.message));
    view.dataset.state = "failed";
  } else if (reply.mode === "consolidate") {
    showDisruption(reply.result);
    view.dataset.state = "done";
  }
}

// ---------------------------------------------------------------------------------------------------
// Rendering.

const money = (x: number) => `$${x.toFixed(4)}/h`;
const GiB = 2 ** 30;
const resourceLabel: Record<string, string> = { cpuMillis: "cpu", memoryBytes: "memory", pods: "pods" };
function amount(key: string, x: number): string {
  if (key === "cpuMillis") return `${+(x / 1000).toFixed(3)}`;
  if (key === "memoryBytes") return `${+(x / GiB).toFixed(2)} GiB`;
  return String(x);
}

function showFailure(message: string): void {
  status.textContent = "could not plan";
  document.body.dataset.state = "failed";
  $("failure").replaceChildren(el("pre", { class: "error" }, message));
  $("failure").hidden = false;
  $("result").hidden = true;
}

function bar(r: { key: string; used: number; allocatable: number }): HTMLElement {
  const ratio = r.allocatable > 0 ? r.used / r.allocatable : r.used > 0 ? 1 : 0;
  const fill = el("span", {
    class: ratio > 1 ? "fill over" : "fill",
    style: `width:${Math.min(100, ratio * 100).toFixed(1)}%`,
  });
  return el(
    "span",
    {
      class: `bar ${resourceLabel[r.key] ?? "extended"}`,
      title: `${resourceLabel[r.key] ?? r.key}: ${amount(r.key, r.used)} of ${amount(r.key, r.allocatable)} (${Math.round(ratio * 100)}%)`,
    },
    fill,
  );
}

/** `us-east-1a` as `1a`: the zone's distinguishing end, the region being the same for every node. */
function shortZone(zone: string): string {
  const m = /-(\d+[a-z]+)$/.exec(zone);
  return m?.[1] ?? zone;
}

/** A long sentence (a reason listing many nodes or times) folded after its first words. */
function folded(text: string, limit = 160): HTMLElement | string {
  if (text.length <= limit) return text;
  const cut = text.lastIndexOf(" ", limit);
  return el(
    "details",
    { class: "long" },
    el("summary", {}, `${text.slice(0, cut > 0 ? cut : limit)} …`),
    text,
  );
}

function nodeRow(node: NodeView): HTMLElement {
  const pods = [...node.boundPods, ...node.placedPods];
  const row = el(
    "li",
    {
      class: node.isNew ? "node new" : "node",
      "data-node": node.name,
      tabindex: "0",
      title: `${node.name}${node.isNew ? " (new)" : ""}: ${pods.length} pods\n${pods.slice(0, 30).join("\n")}${pods.length > 30 ? `\n… ${pods.length - 30} more` : ""}`,
    },
    el("span", { class: "node-name" }, node.name),
    el("span", { class: "node-zone", title: `${node.zone} ${node.capacityType}` }, shortZone(node.zone)),
    el("span", { class: "bars" }, ...node.resources.map(bar)),
  );
  const open = () => showNode(node, row);
  row.addEventListener("click", open);
  row.addEventListener("keydown", (e) => {
    if (e.key === "Enter") open();
  });
  return row;
}

function showNode(node: NodeView, row: HTMLElement): void {
  for (const r of document.querySelectorAll(".node.active")) r.classList.remove("active");
  row.classList.add("active");
  const podItems = (pods: string[], cls: string) => pods.map((p) => el("li", { class: cls }, p));
  $("node-detail").replaceChildren(
    el(
      "h3",
      {},
      `${node.name}${node.isNew ? " (new)" : ""} — ${node.instanceType}, ${node.zone} ${node.capacityType}`,
      node.pricePerHour === null ? "" : `, ${money(node.pricePerHour)}`,
    ),
    el(
      "p",
      {},
      node.resources
        .map(
          (r) =>
            `${resourceLabel[r.key] ?? r.key} ${amount(r.key, r.used)} / ${amount(r.key, r.allocatable)}`,
        )
        .join(" · "),
    ),
    el(
      "ul",
      { class: "pods" },
      ...podItems(node.boundPods, "bound"),
      ...podItems(node.placedPods, "placed"),
      ...(node.boundPods.length + node.placedPods.length === 0 ? [el("li", {}, "no pods")] : []),
    ),
  );
}

function stat(label: string, field: string, value: string, raw: number | null): HTMLElement {
  return el(
    "div",
    { class: "stat" },
    el("span", { class: "label" }, label),
    el("span", { class: "value", "data-field": field, "data-value": raw === null ? "" : String(raw) }, value),
  );
}

function showResult(result: PlanResult): void {
  lastResult = result;
  const { plan } = result;
  document.body.dataset.state = "solved";
  $("failure").hidden = true;
  $("result").hidden = false;
  consolidation = "none";
  $("tab-consolidate").replaceChildren();
  doctor = "none";
  $("tab-doctor").replaceChildren();
  openTab("plan");

  const c = plan.cost;
  const newNodes = result.nodes.filter((n) => n.isNew).length;
  $("summary").replaceChildren(
    stat("pending pods", "pending-pods", String(result.pendingPods), result.pendingPods),
    stat("existing nodes", "existing-nodes", String(result.existingNodes), result.existingNodes),
    stat("new nodes", "new-nodes", String(newNodes), newNodes),
    stat(
      "unschedulable",
      "unschedulable-count",
      String(plan.unschedulable.length),
      plan.unschedulable.length,
    ),
    stat("cost now", "cost-now", money(c.currentPerHour), c.currentPerHour),
    stat(
      "cost planned",
      "cost-planned",
      `${money(c.plannedPerHour)} (+${money(c.newPerHour)} new)`,
      c.plannedPerHour,
    ),
    stat("lower bound (new)", "cost-lower-bound", money(c.lowerBoundPerHour), c.lowerBoundPerHour),
    stat("new / bound", "cost-ratio", c.ratio === null ? "—" : c.ratio.toFixed(4), c.ratio),
  );

  const messages = (id: string, items: string[], cls: string) => {
    $(id).replaceChildren(...items.map((m) => el("li", { class: cls }, m)));
    $(id).hidden = items.length === 0;
  };
  messages(
    "errors",
    plan.errors.map((e) => e.message),
    "error",
  );
  messages("warnings", [...plan.warnings.map((w) => w.message), ...result.notes, result.summary], "warning");

  // Nodes grouped by NodePool, then instance type; existing first within a group.
  const pools = new Map<string, Map<string, NodeView[]>>();
  for (const n of result.nodes) {
    const types = pools.get(n.nodePool) ?? new Map<string, NodeView[]>();
    const list = types.get(n.instanceType);
    if (list === undefined) types.set(n.instanceType, [n]);
    else list.push(n);
    pools.set(n.nodePool, types);
  }
  $("nodes").replaceChildren(
    ...[...pools.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([pool, types]) =>
        el(
          "section",
          { class: "pool", "data-pool": pool },
          el("h3", {}, `NodePool ${pool}`),
          ...[...types.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([type, nodes]) => {
              const added = nodes.filter((n) => n.isNew).length;
              return el(
                "div",
                { class: "type" },
                el(
                  "h4",
                  {},
                  `${type} — ${nodes.length - added} existing${added > 0 ? `, ${added} new` : ""}`,
                ),
                el("ul", { class: "node-list" }, ...nodes.map(nodeRow)),
              );
            }),
        ),
      ),
  );
  $("node-detail").replaceChildren(el("p", { class: "hint" }, "Click a node to list its pods."));

  // Pods of one workload fail for one reason: one row per reason, with its pods.
  const byReason = new Map<string, { code: string; pods: string[] }>();
  for (const u of plan.unschedulable) {
    const group = byReason.get(u.message) ?? { code: u.reason.code, pods: [] };
    group.pods.push(u.pod);
    byReason.set(u.message, group);
  }
  $("unschedulable").replaceChildren(
    ...[...byReason].map(([message, { code, pods }]) =>
      el(
        "tr",
        { "data-pod": pods[0] ?? "", "data-pods": String(pods.length), "data-message": message },
        el(
          "td",
          {},
          pods.length === 1
            ? (pods[0] ?? "")
            : el(
                "details",
                {},
                el(
                  "summary",
                  {},
                  `${pods.length} pods: ${pods.slice(0, 3).join(", ")}${pods.length > 3 ? ", …" : ""}`,
                ),
                pods.join(", "),
              ),
        ),
        el("td", {}, el("code", {}, code)),
        el("td", {}, folded(message)),
      ),
    ),
  );
  $("unschedulable-section").hidden = plan.unschedulable.length === 0;
}

function showDisruption({ plan, nodes, notes }: DisruptionResult): void {
  const c = plan.cost;
  const saved = c.currentPerHour - c.afterPerHour;
  const node = (name: string) => {
    const n = nodes[name];
    return n === undefined
      ? name
      : `${name} (${n.instanceType}, ${n.pricePerHour === null ? "price unknown" : money(n.pricePerHour)}, ${n.pods} pods)`;
  };
  const waves = [...new Set(plan.commands.map((x) => x.wave))].sort((a, b) => a - b);
  const kept = new Map<string, string[]>();
  for (const k of plan.kept) {
    const list = kept.get(k.message);
    if (list === undefined) kept.set(k.message, [k.node]);
    else list.push(k.node);
  }
  $("tab-consolidate").replaceChildren(
    el(
      "div",
      { class: "summary" },
      stat("commands", "disruption-commands", String(plan.commands.length), plan.commands.length),
      stat(
        "nodes removed",
        "disruption-removed",
        String(plan.commands.flatMap((x) => x.candidates).length),
        null,
      ),
      stat("cost now", "disruption-cost-now", money(c.currentPerHour), c.currentPerHour),
      stat("cost after", "disruption-cost-after", money(c.afterPerHour), c.afterPerHour),
      stat(
        "savings",
        "disruption-savings",
        `${money(saved)}${c.currentPerHour > 0 ? ` (${((100 * saved) / c.currentPerHour).toFixed(1)}%)` : ""}`,
        saved,
      ),
      stat("lower bound", "disruption-lower-bound", money(c.lowerBoundPerHour), c.lowerBoundPerHour),
    ),
    ...(plan.commands.length === 0
      ? [el("p", { class: "hint" }, "No node can be removed or replaced now.")]
      : []),
    ...waves.map((wave) =>
      el(
        "section",
        { class: "wave", "data-wave": String(wave) },
        el(
          "h3",
          {},
          `Wave ${wave}${wave === 1 ? " (may start now)" : ` (after wave ${wave - 1} completes)`}`,
        ),
        ...plan.commands
          .filter((x) => x.wave === wave)
          .map((x) =>
            el(
              "div",
              { class: "command" },
              el(
                "p",
                {},
                el("strong", {}, x.method),
                " — ",
                folded(x.reason),
                " ",
                x.savingsPerHour >= 0
                  ? el("span", { class: "savings" }, `saves ${money(x.savingsPerHour)}`)
                  : el("span", { class: "extra-cost" }, `costs ${money(-x.savingsPerHour)} more`),
              ),
              el("p", {}, "goes: "),
              el("ul", { class: "goes" }, ...x.candidates.map((n) => el("li", { "data-node": n }, node(n)))),
              el(
                "p",
                {},
                x.replacements.length === 0 ? "replaced by nothing: its pods fit elsewhere" : "replaced by: ",
              ),
              el(
                "ul",
                { class: "replacements" },
                ...x.replacements.map((r) =>
                  el(
                    "li",
                    {},
                    `${r.instanceType} ${r.zone} ${r.capacityType}, ${money(r.pricePerHour)}, ${r.pods.length} pods`,
                  ),
                ),
              ),
              el(
                "p",
                { class: "hint" },
                `${x.evictions.length} pods evicted; budget ${x.budget.reason} of NodePool ${x.budget.nodePool}`,
              ),
            ),
          ),
      ),
    ),
    el("h3", {}, `Why ${plan.kept.length} nodes stay`),
    el(
      "table",
      { class: "kept" },
      el("thead", {}, el("tr", {}, el("th", {}, "nodes"), el("th", {}, "why"))),
      el(
        "tbody",
        {},
        ...[...kept.entries()].map(([why, names]) =>
          el(
            "tr",
            {},
            el("td", {}, el("ul", {}, ...names.map((n) => el("li", { "data-kept": n }, node(n))))),
            el("td", {}, folded(why)),
          ),
        ),
      ),
    ),
    el(
      "ul",
      { class: "messages" },
      ...plan.errors.map((e) => el("li", { class: "error" }, e.message)),
      ...[...plan.warnings.map((w) => w.message), ...notes].map((m) => el("li", { class: "warning" }, m)),
    ),
  );
}

/** `file:line: Kind ns/name field` for a finding's object. */
function located(o: DoctorResult["report"]["findings"][number]["objects"][number]): string {
  const where = o.file === undefined ? "" : `${o.file}${o.line === undefined ? "" : `:${o.line}`}: `;
  return `${where}${o.kind} ${o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`}${o.path === undefined ? "" : ` ${o.path}`}`;
}

function showDoctor({ report, notes }: DoctorResult): void {
  const s = report.summary;
  const order = ["error", "warning", "info"] as const;
  $("tab-doctor").replaceChildren(
    el(
      "div",
      { class: "summary" },
      stat("findings", "doctor-findings", String(s.findings), s.findings),
      stat("errors", "doctor-errors", String(s.bySeverity.error), s.bySeverity.error),
      stat("warnings", "doctor-warnings", String(s.bySeverity.warning), s.bySeverity.warning),
      stat("exempted", "doctor-exempted", String(s.exempted), s.exempted),
      stat(
        "savings blocked",
        "doctor-savings-blocked",
        s.savingsBlockedPerHour === undefined ? "—" : money(s.savingsBlockedPerHour),
        s.savingsBlockedPerHour ?? null,
      ),
      stat(
        "pods never placed",
        "doctor-pods-unschedulable",
        String(s.podsUnschedulable ?? 0),
        s.podsUnschedulable ?? 0,
      ),
    ),
    ...(report.findings.length === 0
      ? [el("p", { class: "hint" }, `No findings from ${s.rules} rules.`)]
      : []),
    ...order
      .filter((severity) => s.bySeverity[severity] > 0)
      .map((severity) =>
        el(
          "section",
          { class: `findings ${severity}` },
          el("h3", {}, `${severity === "info" ? "info" : `${severity}s`} (${s.bySeverity[severity]})`),
          ...report.findings
            .filter((f) => f.severity === severity)
            .map((f) => {
              const e = f.effect;
              const costs = [
                e?.savingsBlockedPerHour === undefined
                  ? ""
                  : `blocks ${money(e.savingsBlockedPerHour)} of savings`,
                e?.podsUnschedulable === undefined ? "" : `${e.podsUnschedulable} pods never placed`,
                e?.replicasUnreachable === undefined ? "" : `${e.replicasUnreachable} replicas out of reach`,
              ].filter((c) => c !== "");
              return el(
                "div",
                { class: "finding", "data-rule": f.rule, "data-severity": f.severity },
                el("p", {}, el("code", {}, f.rule), " ", el("strong", {}, f.title)),
                el("p", {}, folded(f.message)),
                el("ul", { class: "where" }, ...f.objects.map((o) => el("li", {}, located(o)))),
                ...(costs.length === 0 ? [] : [el("p", { class: "savings" }, costs.join("; "))]),
                ...(f.fix === undefined
                  ? []
                  : [
                      el(
                        "details",
                        { class: "fix" },
                        el("summary", {}, `fix: ${f.fix.description}`),
                        el(
                          "pre",
                          {},
                          JSON.stringify(
                            f.fix.add === undefined ? f.fix.patch : { patch: f.fix.patch, add: f.fix.add },
                            null,
                            2,
                          ),
                        ),
                      ),
                    ]),
                el(
                  "p",
                  { class: "hint" },
                  el("a", { href: f.docs, target: "_blank", rel: "noopener" }, f.docs),
                ),
              );
            }),
        ),
      ),
    el("ul", { class: "messages" }, ...notes.map((m) => el("li", { class: "warning" }, m))),
  );
}

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

$("download-nodeclaims").addEventListener("click", () => {
  if (lastResult) download("nodeclaims.yaml", lastResult.nodeClaimsYaml, "application/yaml");
});
$("download-plan").addEventListener("click", () => {
  if (lastResult) download("plan.json", `${JSON.stringify(lastResult.plan, null, 2)}\n`, "application/json");
});

renderInputs();
syncCatalogChoice();
document.body.dataset.state = "ready";
