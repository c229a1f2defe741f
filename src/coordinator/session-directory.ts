import type { Session } from './session';
import type { SessionEndReason } from './session-registry';

/**
 * The live sessions as the session streams and table events see them.
 * SessionRegistry keeps them in etcd; the protocol simulation keeps them in
 * memory, so it runs the coordinator's own stream and routing code.
 */
export interface SessionDirectory {
  get(id: string): Session | undefined;
  /** identity: the TLS certificate name of the opening client ('' without TLS); only it may resume the session. */
  open(clientName: string, requestedTtlMs: number | undefined, identity?: string): Promise<Session>;
  /** Renews the lease; resolves with the TTL granted, after the store confirmed. */
  heartbeat(session: Session): Promise<number>;
  evict(id: string, reason?: SessionEndReason): Promise<void>;
  checkSecret(session: Session, secret: string): boolean;
}
