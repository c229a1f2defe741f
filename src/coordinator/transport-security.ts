import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, PermissionDeniedError } from '../common/errors';
import { assertUsableClientCertificate, ReloadableCertificates } from '../common/reloadable-certificates';
import { ADMIN_TOKEN_METADATA, tokenMatches } from '../common/admin-token';

export interface TlsFiles {
  /** PEM certificate of this process. */
  certFile: string;
  /** PEM private key of this process. */
  keyFile: string;
  /** PEM of the cluster CA that signs every coordinator, agent and admin certificate. */
  caFile: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Mutual TLS with a cluster CA (DESIGN §10). Plain text is allowed only on
 * loopback (coherd up, tests), unless the operator insists with allowInsecure.
 */
export function serverCredentials(listenHost: string, tls: TlsFiles | ReloadableCertificates | undefined, allowInsecure = false): grpc.ServerCredentials {
  if (tls) {
    // One provider for both roles; reload() (SIGHUP) swaps certificate and CA for new connections.
    const certs = tls instanceof ReloadableCertificates ? tls : new ReloadableCertificates(tls);
    return grpc.experimental.createCertificateProviderServerCredentials(certs, certs, true);
  }
  if (!isLoopbackHost(listenHost) && !allowInsecure) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `refusing to listen on ${listenHost} without TLS; give --tls-cert/--tls-key/--tls-ca (plain text is for loopback only)`);
  }
  return grpc.ServerCredentials.createInsecure();
}

export function channelCredentials(tls: TlsFiles | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const c = assertUsableClientCertificate(tls, Date.now());
  return grpc.credentials.createSsl(c.caCertificate, c.privateKey, c.certificate);
}

/** Common name of the peer's client certificate; '' without TLS. */
export function peerIdentity(call: { getAuthContext?: () => { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } }): string {
  const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? cn.join(',') : cn ?? '';
}

/** What an admin call shows the authorizer: its TLS peer and its metadata. */
type AdminCall = Parameters<typeof peerIdentity>[0] & { metadata?: { get(key: string): unknown[] } };

/**
 * Admin RPCs need an admin identity (DESIGN §10): over TLS a client
 * certificate whose common name is in adminNames; without TLS (loopback)
 * the admin token the coordinator keeps in a file only its user and root
 * can read (admin-token.ts), sent as metadata — so not every local process
 * may evict sessions or read the lock table.
 */
export function adminAuthorizer(tlsEnabled: boolean, adminNames: readonly string[], token?: { file: string; token: string }) {
  return (call: AdminCall): void => {
    if (!tlsEnabled) {
      const presented = call.metadata?.get(ADMIN_TOKEN_METADATA)?.[0];
      if (token !== undefined && tokenMatches(token.token, presented)) return;
      const why = presented === undefined ? 'no admin token was sent' : 'the admin token sent is not this coordinator\'s';
      throw new PermissionDeniedError('PERMISSION_DENIED', `admin identity required: ${why}; it is in ${token?.file ?? 'the admin token file'} (readable by the coordinator's user and root only: run the CLI as one of them, or give --admin-token-file)`, {});
    }
    const cn = peerIdentity(call);
    if (!cn || !adminNames.includes(cn)) {
      throw new PermissionDeniedError('PERMISSION_DENIED', `admin identity required: certificate name "${cn}" is not in --admin-names`, { identity: cn });
    }
  };
}

/** "host:port" → parts; IPv6 as "[::1]:port". */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('INVALID_ARGUMENT', `malformed address "${address}", expected HOST:PORT`, { address });
  return { host: m[1], port };
}
