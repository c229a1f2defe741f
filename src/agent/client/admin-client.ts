import * as grpc from '@grpc/grpc-js';
import { adminClientConstructor } from '../../common/proto';
import { UnavailableError, errorFromReason, CoherdError } from '../../common/errors';
import { channelCredentials, TlsFiles } from '../../coordinator/transport-security';
import { ADMIN_TOKEN_METADATA, readAdminToken } from '../../common/admin-token';

type Unary = (req: object, metadata: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

/**
 * Unary admin calls (Status, ListSessions, DumpLocks, Evict), trying each
 * endpoint in turn. Without TLS it sends the coordinator's admin token,
 * read from adminTokenFile or the default files (admin-token.ts); a caller
 * that cannot read it is refused by the coordinator.
 */
export class AdminClient {
  constructor(private readonly endpoints: string[], private readonly tls?: TlsFiles, private readonly timeoutMs = 5000, private readonly adminTokenFile?: string) {}

  status(): Promise<Record<string, unknown>> {
    return this.call('Status', {});
  }

  listSessions(): Promise<Record<string, unknown>> {
    return this.call('ListSessions', {});
  }

  dumpLocks(resourcePrefix = '', limit = 0): Promise<Record<string, unknown>> {
    return this.call('DumpLocks', { resourcePrefix, limit });
  }

  evict(sessionId: string): Promise<Record<string, unknown>> {
    return this.call('Evict', { sessionId });
  }

  private async call(method: string, req: object): Promise<Record<string, unknown>> {
    const failures: string[] = [];
    const metadata = new grpc.Metadata();
    const token = this.tls ? undefined : readAdminToken(this.adminTokenFile);
    if (token !== undefined) metadata.set(ADMIN_TOKEN_METADATA, token);
    for (const endpoint of this.endpoints) {
      const Ctor = adminClientConstructor();
      const client = new Ctor(endpoint, channelCredentials(this.tls));
      try {
        return await new Promise((resolve, reject) => {
          const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
          fn(req, metadata, { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
        });
      } catch (e) {
        const err = e as grpc.ServiceError;
        if (err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.DEADLINE_EXCEEDED) throw domainError(err);
        failures.push(`${endpoint}: ${err.details || err.message}`);
      } finally {
        client.close();
      }
    }
    throw new UnavailableError('COORDINATOR_UNAVAILABLE', `coordinator unreachable at ${this.endpoints.join(', ')} (${failures.join('; ')})`, { endpoints: this.endpoints });
  }
}

/** Server errors carry "REASON: message" in details. */
function domainError(err: grpc.ServiceError): CoherdError {
  const m = /^([A-Z_]+): (.*)$/s.exec(err.details ?? '');
  return m ? errorFromReason(m[1], m[2]) : errorFromReason('INTERNAL', err.details || err.message);
}
