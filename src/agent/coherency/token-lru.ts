import type { HeldToken } from './held-token';

/**
 * Idle tokens (no in-flight vop) in least-recently-used order, as an
 * intrusive doubly linked list: push/remove are O(1) and allocate nothing.
 */
export class TokenLru {
  private head: HeldToken | undefined;
  private tail: HeldToken | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends as most recently used (moves it there if already present). */
  push(t: HeldToken): void {
    if (t.inLru) this.remove(t);
    t.lruPrev = this.tail;
    t.lruNext = undefined;
    if (this.tail) this.tail.lruNext = t;
    else this.head = t;
    this.tail = t;
    t.inLru = true;
    this.count++;
  }

  remove(t: HeldToken): void {
    if (!t.inLru) return;
    if (t.lruPrev) t.lruPrev.lruNext = t.lruNext;
    else this.head = t.lruNext;
    if (t.lruNext) t.lruNext.lruPrev = t.lruPrev;
    else this.tail = t.lruPrev;
    t.lruPrev = t.lruNext = undefined;
    t.inLru = false;
    this.count--;
  }

  /** Least recently used idle token, without removing it. */
  oldest(): HeldToken | undefined {
    return this.head;
  }

  clear(): void {
    let t = this.head;
    while (t) {
      const next = t.lruNext;
      t.lruPrev = t.lruNext = undefined;
      t.inLru = false;
      t = next;
    }
    this.head = this.tail = undefined;
    this.count = 0;
  }
}
