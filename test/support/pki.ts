import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Files of one certificate made by openssl. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * A throwaway certificate authority made with the openssl command line
 * (Debian's openssl 3.0): server certificates for 127.0.0.1/localhost,
 * client certificates by common name, and certificates whose validity
 * lies in the past (through `openssl ca -startdate/-enddate`).
 */
export class TestPki {
  readonly dir: string;
  readonly caFile: string;
  private readonly caKey: string;
  private serial = 1;

  private constructor(dir: string, readonly name: string) {
    this.dir = dir;
    this.caFile = path.join(dir, 'ca.pem');
    this.caKey = path.join(dir, 'ca.key');
  }

  static create(name = 'coherd-test-ca', parent?: string): TestPki {
    const dir = fs.mkdtempSync(path.join(parent ?? os.tmpdir(), 'coherd-pki-'));
    const pki = new TestPki(dir, name);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${name}`, '-keyout', pki.caKey, '-out', pki.caFile,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    fs.writeFileSync(path.join(dir, 'index.txt'), '');
    return pki;
  }

  /** A certificate for CN, valid now (or between startDate and endDate, YYYYMMDDHHMMSSZ). */
  issue(cn: string, o: { server?: boolean; startDate?: string; endDate?: string; file?: string } = {}): CertFiles {
    const base = path.join(this.dir, o.file ?? cn);
    const keyFile = `${base}.key`;
    const csr = `${base}.csr`;
    const certFile = `${base}.pem`;
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', keyFile, '-out', csr]);
    const ext = path.join(this.dir, `${o.file ?? cn}.ext`);
    fs.writeFileSync(ext, [
      'basicConstraints=CA:FALSE',
      `extendedKeyUsage=${o.server ? 'serverAuth,clientAuth' : 'clientAuth'}`,
      o.server ? `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${cn}` : `subjectAltName=DNS:${cn}`,
    ].join('\n') + '\n');
    const conf = path.join(this.dir, 'ca.cnf');
    fs.writeFileSync(conf, [
      '[ca]', 'default_ca=test', '[test]', `dir=${this.dir}`, 'database=$dir/index.txt', 'new_certs_dir=$dir',
      'serial=$dir/serial', 'default_md=sha256', 'policy=any', 'unique_subject=no', 'copy_extensions=none', '[any]', 'commonName=supplied',
    ].join('\n') + '\n');
    const serial = String(this.serial++).padStart(4, '0');
    fs.writeFileSync(path.join(this.dir, 'serial'), serial + '\n');
    openssl(['ca', '-batch', '-notext', '-config', conf, '-cert', this.caFile, '-keyfile', this.caKey, '-in', csr, '-out', certFile,
      '-extfile', ext,
      ...(o.startDate ? ['-startdate', o.startDate] : []),
      ...(o.endDate ? ['-enddate', o.endDate] : ['-days', '1'])]);
    return { certFile, keyFile, caFile: this.caFile };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() || err.message}`);
  }
}
