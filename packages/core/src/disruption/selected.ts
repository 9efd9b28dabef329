import { deeplyFrozen } from "../frozen.ts";
import { ListFacts } from "../list-facts.ts";
import type { LabelSelector, Pod } from "../model.ts";
import { matchesLabelSelector } from "../selectors.ts";
import type { ClusterView } from "./state.ts";

/**
 * Distinct label sets after which a new generation starts (every id and answer forgotten): pods of Jobs
 * and StatefulSets carry labels of their own, so a controller running for months meets ever new sets.
 */
const MAX_LABEL_SETS = 1 << 16;

/** Label sets by content as small ids, and what each selector (by key) says of each id. */
class LabelSets {
  private readonly ids = new Map<string, number>();
  private readonly byObject = new WeakMap<object, number>();
  private readonly sets: Readonly<Record<string, string>>[] = [];
  /** Per selector key, per label set id (see `answersFor`). */
  private readonly answers = new Map<string, Uint8Array>();
  /** Each pod's label set id, doubled, plus 1 when bound, remembered along successive views' pods. */
  readonly facts = new ListFacts<Pod>();
  readonly fact = (p: Pod): number => this.idOf(p.labels) * 2 + (p.nodeName === undefined ? 0 : 1);

  get size(): number {
    return this.sets.length;
  }

  private idOf(labels: Readonly<Record<string, string>>): number {
    const lasting = deeplyFrozen(labels);
    let id = lasting ? this.byObject.get(labels) : undefined;
    if (id !== undefined) return id;
    const key = JSON.stringify(
      Object.keys(labels)
        .sort()
        .map((k) => [k, labels[k]]),
    );
    id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(labels);
      this.ids.set(key, id);
    }
    if (lasting) this.byObject.set(labels, id);
    return id;
  }

  /**
   * What the selector of key `key` says of each label set id: 0 not yet read, 1 selects, 2 does not
   * (every id given so far has a place).
   */
  answersFor(key: string): Uint8Array {
    let known = this.answers.get(key);
    if (known === undefined || known.length < this.sets.length) {
      const grown = new Uint8Array(this.sets.length + (this.sets.length >> 1) + 16);
      if (known !== undefined) grown.set(known);
      this.answers.set(key, (known = grown));
    }
    return known;
  }

  /** Does `selector` select label set `id`? */
  selects(selector: LabelSelector, id: number): boolean {
    return matchesLabelSelector(selector, this.sets[id] as Readonly<Record<string, string>>);
  }
}

let current = new LabelSets();

/** Per view: the generation its facts are from, and each pod's fact by position. */
const viewFacts = new WeakMap<ClusterView, { sets: LabelSets; facts: Int32Array }>();

function factsOf(view: ClusterView): { sets: LabelSets; facts: Int32Array } {
  let known = viewFacts.get(view);
  if (known === undefined) {
    if (current.size > MAX_LABEL_SETS) current = new LabelSets();
    const sets = current;
    const facts = new Int32Array(view.pods.length);
    sets.facts.each(view.pods, sets.fact, (_, f, i) => {
      facts[i] = f;
    });
    viewFacts.set(view, (known = { sets, facts }));
  }
  return known;
}

/**
 * Positions (ascending) of the view's bound pods whose labels `selector` selects (`key` is its
 * `labelSelectorKey`). The same as testing every bound pod, but each pod's labels are read once over
 * the views that hold it (ListFacts), and each selector reads each distinct label set once: a
 * consolidation pass asks for a few selectors on each of its views, 20k pods each.
 */
export function boundSelected(view: ClusterView, selector: LabelSelector, key: string): number[] {
  const { sets, facts } = factsOf(view);
  const answers = sets.answersFor(key);
  const out: number[] = [];
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i] as number;
    if ((f & 1) === 0) continue;
    const id = f >> 1;
    let answer = answers[id] as number;
    if (answer === 0) answers[id] = answer = sets.selects(selector, id) ? 1 : 2;
    if (answer === 1) out.push(i);
  }
  return out;
}
