/**
 * The simulation's events, ordered by time then by insertion: a binary heap over plain
 * objects, so a copy of the queue (structuredClone) restarts the same future.
 */
export type SimEvent =
  | { at: number; seq: number; type: 'session'; id: number }
  | { at: number; seq: number; type: 'attack'; index: number }
  | { at: number; seq: number; type: 'attack_verify'; challengeId: string; messageId: string };

export interface EventQueue {
  items: SimEvent[];
  seq: number;
}

export function emptyQueue(): EventQueue {
  return { items: [], seq: 0 };
}

type Pending = SimEvent extends infer E ? (E extends SimEvent ? Omit<E, 'seq'> : never) : never;

const before = (a: SimEvent, b: SimEvent) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export function push(q: EventQueue, e: Pending): void {
  const item = { ...e, seq: q.seq++ } as SimEvent;
  const h = q.items;
  h.push(item);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(h[i]!, h[parent]!)) break;
    [h[i], h[parent]] = [h[parent]!, h[i]!];
    i = parent;
  }
}

export function peek(q: EventQueue): SimEvent | undefined {
  return q.items[0];
}

export function pop(q: EventQueue): SimEvent | undefined {
  const h = q.items;
  const top = h[0];
  const last = h.pop();
  if (h.length > 0 && last) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
  return top;
}
