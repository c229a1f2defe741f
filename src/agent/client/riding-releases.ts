/**
 * Early releases (DESIGN §3.5) ride on the next outgoing message. A message
 * can be lost with its stream, so a release counts as done only once the
 * coordinator answered a request sent with or after it (a stream is
 * processed in order). After a plain resume with the same leader, releases
 * not known to be done ride again (releasing twice is harmless there). After
 * a failover they are dropped: the new leader never had those locks (they
 * are not reclaimed), and it may hand their ids out anew.
 */
export class RidingReleases {
  private waiting: number[] = [];
  private sent: Array<{ lockId: number; confirmedBy: number }> = [];

  add(lockId: number): void {
    this.waiting.push(lockId);
  }

  get size(): number {
    return this.waiting.length + this.sent.length;
  }

  /** Releases not yet on any message. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** The ids to put on a message; `confirmedBy` is the first request id whose answer proves they were processed. */
  take(confirmedBy: number): number[] {
    const ids = this.waiting;
    this.waiting = [];
    for (const lockId of ids) this.sent.push({ lockId, confirmedBy });
    return ids;
  }

  /** The message carrying `ids` could not be written: they wait for the next one. */
  notSent(ids: number[]): void {
    this.sent = this.sent.filter((s) => !ids.includes(s.lockId));
    this.waiting.unshift(...ids);
  }

  /** The coordinator answered request `requestId`: everything sent before it was processed. */
  answered(requestId: number): void {
    if (this.sent.length === 0) return;
    this.sent = this.sent.filter((s) => s.confirmedBy > requestId);
  }

  /** A new stream to the same leader: what may have been lost rides again. */
  resumedWithSameLeader(): void {
    this.waiting = [...this.sent.map((s) => s.lockId), ...this.waiting];
    this.sent = [];
  }

  /** A new leader, or no session any more: nothing to give back there. */
  clear(): void {
    this.waiting = [];
    this.sent = [];
  }
}
