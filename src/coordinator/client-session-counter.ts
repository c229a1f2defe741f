import { ResourceExhaustedError } from '../common/errors';

/**
 * Live sessions per client identity, for the sessions-per-client quota.
 * The key is the TLS certificate name when there is one (the client cannot
 * choose it), else the client name it sent (plain text is loopback-only).
 */
export class ClientSessionCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  static keyOf(clientName: string, identity: string): string {
    return identity ? `tls:${identity}` : `name:${clientName}`;
  }

  /** Counts one more session for key, or throws SESSION_QUOTA and counts nothing. */
  reserve(key: string): void {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) {
      throw new ResourceExhaustedError('SESSION_QUOTA', 'this client has too many live sessions; close some first', { client: key, max: this.max });
    }
    this.counts.set(key, n + 1);
  }

  /** Counts a session that exists already (restored by a new leader), without the check. */
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  release(key: string): void {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  clear(): void {
    this.counts.clear();
  }
}
