import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import { EtcdProcess, startEtcd } from './etcd';
import { CLI, startCoordinatorProcess } from './cluster';
import { CertFiles, TestPki } from './pki';

export const ETCD_USER = 'coherd';
/** A password that must never show up in a log line. */
export const ETCD_PASSWORD = 'etcd-pw-7f3a9c1e5b';

/**
 * etcd over TLS with client certificates and authentication on: user
 * "coherd" may read and write only under /coherd/ (its own role), the way an
 * operator would set it up with etcdctl.
 */
export async function startSecureEtcd(pki: TestPki): Promise<{ etcd: EtcdProcess; client: CertFiles }> {
  const server = pki.issue('etcd-server', { server: true });
  const client = pki.issue('etcd-client');
  const etcd = await startEtcd({ clientTls: server });
  const admin = new Etcd3({
    hosts: etcd.endpoint,
    credentials: { rootCertificate: fs.readFileSync(client.caFile), certChain: fs.readFileSync(client.certFile), privateKey: fs.readFileSync(client.keyFile) },
  });
  try {
    await admin.auth.userAdd({ name: 'root', password: 'root-' + ETCD_PASSWORD });
    await admin.auth.roleAdd({ name: 'root' });
    await admin.auth.userGrantRole({ user: 'root', role: 'root' });
    await admin.auth.userAdd({ name: ETCD_USER, password: ETCD_PASSWORD });
    await admin.auth.roleAdd({ name: 'coherd' });
    await admin.auth.roleGrantPermission({ name: 'coherd', perm: { permType: 'Readwrite', key: Buffer.from('/coherd/'), range_end: Buffer.from('/coherd0') } });
    await admin.auth.userGrantRole({ user: ETCD_USER, role: 'coherd' });
    await admin.auth.authEnable();
  } catch (e) {
    await etcd.stop();
    throw e;
  } finally {
    admin.close();
  }
  return { etcd, client };
}

export interface LoggedCoordinator {
  address: string;
  child: ChildProcess;
  /** Everything it logged so far (JSON lines on stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** `coherd coordinator` with extra args and environment, its log kept for inspection. */
export function spawnLoggedCoordinator(args: string[], env: NodeJS.ProcessEnv = {}): Promise<LoggedCoordinator> {
  return startCoordinatorProcess([process.execPath, CLI, 'coordinator', ...args], { COHERD_LOG_LEVEL: 'debug', ...env });
}

/** Flags for the three TLS files of a certificate. */
export function tlsArgs(c: CertFiles): string[] {
  return ['--tls-cert', c.certFile, '--tls-key', c.keyFile, '--tls-ca', c.caFile];
}

/** Copies a certificate's files over another's (what an operator's renewal does before SIGHUP). */
export function replaceFiles(from: CertFiles, to: CertFiles): void {
  fs.copyFileSync(from.certFile, to.certFile);
  fs.copyFileSync(from.keyFile, to.keyFile);
}

