import * as fs from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { experimental } from '@grpc/grpc-js';
import { InvalidArgumentError } from './errors';

type Provider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdListener = experimental.IdentityCertificateUpdateListener;

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface LoadedCertificates {
  certificate: Buffer;
  privateKey: Buffer;
  caCertificate: Buffer;
  /** Subject CN of our own certificate, for logs. */
  subject: string;
  /** Not-after of our own certificate (ms since epoch). */
  notAfterMs: number;
}

/**
 * Reads and checks a certificate, its key and the CA: every file readable,
 * PEM that parses, the key matching the certificate. Errors name the file.
 */
export function loadCertificates(files: CertificateFiles): LoadedCertificates {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
    }
  };
  const certificate = read(files.certFile, 'TLS certificate');
  const privateKey = read(files.keyFile, 'TLS private key');
  const caCertificate = read(files.caFile, 'TLS CA');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
    new X509Certificate(caCertificate);
  } catch (e) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${files.certFile} or ${files.caFile} is not a PEM certificate`, { file: files.certFile }, { cause: e });
  }
  let keyMatches = false;
  try {
    keyMatches = cert.checkPrivateKey(createPrivateKey(privateKey));
  } catch (e) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${files.keyFile} is not a PEM private key`, { file: files.keyFile }, { cause: e });
  }
  if (!keyMatches) throw new InvalidArgumentError('INVALID_ARGUMENT', `${files.keyFile} is not the private key of ${files.certFile}`, { file: files.keyFile });
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  return { certificate, privateKey, caCertificate, subject: cn, notAfterMs: Date.parse(cert.validTo) };
}

/**
 * A grpc-js certificate provider whose files are read again by reload()
 * (on SIGHUP): new connections get the new certificate and CA, open ones
 * keep theirs. A reload that fails keeps the previous certificates.
 */
export class ReloadableCertificates implements Provider {
  private current: LoadedCertificates;
  private readonly caListeners = new Set<CaListener>();
  private readonly idListeners = new Set<IdListener>();

  constructor(readonly files: CertificateFiles) {
    this.current = loadCertificates(files);
  }

  get loaded(): LoadedCertificates {
    return this.current;
  }

  /** Reads the files again; throws (and keeps the old ones) when they are unusable. */
  reload(): LoadedCertificates {
    this.current = loadCertificates(this.files);
    for (const l of this.caListeners) l({ caCertificate: this.current.caCertificate });
    for (const l of this.idListeners) l({ certificate: this.current.certificate, privateKey: this.current.privateKey });
    return this.current;
  }

  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    l({ caCertificate: this.current.caCertificate });
  }

  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    l({ certificate: this.current.certificate, privateKey: this.current.privateKey });
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }
}
