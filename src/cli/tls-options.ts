import { Command } from 'commander';
import { InvalidArgumentError, isCoherdError, UnavailableError } from '../common/errors';
import { TlsFiles } from '../coordinator/transport-security';
import { sourceLabel } from './option-sources';

/** --tls-cert/--tls-key/--tls-ca, also $COHERD_TLS_CERT/KEY/CA, for servers and clients alike. */
export function withTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-cert <file>', 'PEM certificate of this process (mutual TLS; $COHERD_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key ($COHERD_TLS_KEY)')
    .option('--tls-ca <file>', 'PEM cluster CA ($COHERD_TLS_CA)');
}

/** The three files, or undefined when none is set; one or two alone is an error naming the missing ones. */
export function tlsFilesOf(cmd: Command): TlsFiles | undefined {
  const env = (name: string) => process.env[name] || undefined;
  const pick = (attr: string, envVar: string): string | undefined => {
    const v = cmd.getOptionValue(attr) as string | undefined;
    if (v !== undefined) return v;
    const e = env(envVar);
    if (e !== undefined) cmd.setOptionValueWithSource(attr, e, 'env');
    return e;
  };
  const certFile = pick('tlsCert', 'COHERD_TLS_CERT');
  const keyFile = pick('tlsKey', 'COHERD_TLS_KEY');
  const caFile = pick('tlsCa', 'COHERD_TLS_CA');
  const given = { tlsCert: certFile, tlsKey: keyFile, tlsCa: caFile };
  const set = Object.entries(given).filter(([, v]) => v);
  if (set.length === 0) return undefined;
  if (set.length < 3) {
    const missing = Object.entries(given).filter(([, v]) => !v).map(([k]) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
    throw new InvalidArgumentError('INVALID_ARGUMENT', `TLS needs --tls-cert, --tls-key and --tls-ca together; ${set.map(([k]) => sourceLabel(cmd, k)).join(', ')} given but ${missing.join(', ')} missing`);
  }
  return { certFile: certFile!, keyFile: keyFile!, caFile: caFile! };
}

/**
 * An unreachable coordinator often means a TLS mismatch, which the client
 * only sees as a reset or refused connection: say what to check.
 */
export async function withConnectHint<T>(tls: TlsFiles | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isCoherdError(e) || e.reason !== 'COORDINATOR_UNAVAILABLE') throw e;
    const hint = tls
      ? 'if the coordinator is up, it may have refused this client certificate (expired, revoked, or from another CA) or its certificate is not signed by --tls-ca'
      : 'if the coordinator requires mutual TLS, give --tls-cert, --tls-key and --tls-ca (or $COHERD_TLS_CERT, $COHERD_TLS_KEY, $COHERD_TLS_CA)';
    throw new UnavailableError('COORDINATOR_UNAVAILABLE', `${e.message}; ${hint}`, e.details, { cause: e });
  }
}
