/** Thrown when two contenders held the same lock at once. */
export class SerialisationViolatedError extends Error {
  override readonly name = 'SerialisationViolatedError';
}

/**
 * Watches grants from the client side: every grant is entered here when
 * acquire() resolves and left just before release() is sent, so a grant that
 * arrives while another contender is inside is an overlap the service
 * allowed. All contenders run in this one process, so the check is exact.
 */
export class ExclusionCheck {
  private readonly holders = new Map<string, string>();
  private readonly lastHolder = new Map<string, string>();
  grants = 0;
  /** Grants that went to a different contender than the previous grant of that key. */
  holderChanges = 0;
  overlaps = 0;

  /** Records a grant; returns true if it went to another contender than the previous grant of `key`. */
  enter(key: string, contender: string): boolean {
    if (this.holders.has(key)) this.overlaps++;
    this.holders.set(key, contender);
    this.grants++;
    const last = this.lastHolder.get(key);
    this.lastHolder.set(key, contender);
    const changed = last !== undefined && last !== contender;
    if (changed) this.holderChanges++;
    return changed;
  }

  leave(key: string, contender: string): void {
    if (this.holders.get(key) === contender) this.holders.delete(key);
  }

  /** Throws SerialisationViolatedError if any overlap was seen. */
  assertSerialised(what: string): void {
    if (this.overlaps > 0) {
      throw new SerialisationViolatedError(`${what}: ${this.overlaps} grants overlapped another holder of the same key`);
    }
  }
}
