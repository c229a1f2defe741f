/** A request waiting for the coordinator's answer; kept with its message so it can be resent after a resume. */
export interface PendingRequest {
  requestId: number;
  message: object;
  /** Clock ms when it was (last) sent. */
  sentMs: number;
  /** The epoch of the leader it was (last) sent to: request ids mean something only to that leader. */
  epoch: number;
  resolve(reply: Record<string, unknown>): void;
  reject(e: Error): void;
  onQueued?: () => void;
}

/** Requests in flight, by request id. */
export class PendingRequests {
  private readonly byId = new Map<number, PendingRequest>();

  add(p: PendingRequest): void {
    this.byId.set(p.requestId, p);
  }

  get(requestId: number): PendingRequest | undefined {
    return this.byId.get(requestId);
  }

  take(requestId: number): PendingRequest | undefined {
    const p = this.byId.get(requestId);
    if (p) this.byId.delete(requestId);
    return p;
  }

  /**
   * After a resume at a leader of `epoch` that processed requests up to
   * `lastProcessed`: those to send again as they are (sent to this leader,
   * not processed) and those it never saw (sent to an earlier leader: they
   * go again under fresh ids, whatever their old ids compare to its count).
   */
  toResend(epoch: number, lastProcessed: number): { asIs: PendingRequest[]; asNew: PendingRequest[] } {
    const all = [...this.byId.values()].sort((a, b) => a.requestId - b.requestId);
    return {
      asIs: all.filter((p) => p.epoch === epoch && p.requestId > lastProcessed),
      asNew: all.filter((p) => p.epoch !== epoch),
    };
  }

  /** Removes and returns the requests matching `predicate`. */
  takeWhere(predicate: (p: PendingRequest) => boolean): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (const [id, p] of this.byId) {
      if (!predicate(p)) continue;
      this.byId.delete(id);
      out.push(p);
    }
    return out;
  }

  /** Forgets requests whose answers can no longer come (their stream died mid-resume); they are not resent. */
  dropWhere(predicate: (p: PendingRequest) => boolean): void {
    for (const [id, p] of this.byId) if (predicate(p)) this.byId.delete(id);
  }

  rejectAll(e: Error): void {
    const all = [...this.byId.values()];
    this.byId.clear();
    for (const p of all) p.reject(e);
  }

  get size(): number {
    return this.byId.size;
  }
}
