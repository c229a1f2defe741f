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
 * What a client checks before dialing, so that the usual mistakes get a
 * clear message instead of a reset connection: a certificate that is
 * expired or not yet valid, or that the given CA did not sign.
 */
export function assertUsableClientCertificate(files: CertificateFiles, nowMs: number): LoadedCertificates {
  const loaded = loadCertificates(files);
  const cert = new X509Certificate(loaded.certificate);
  const ca = new X509Certificate(loaded.caCertificate);
  if (nowMs > Date.parse(cert.validTo)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `TLS certificate ${files.certFile} (CN=${loaded.subject}) expired on ${new Date(cert.validTo).toISOString()}; the coordinator refuses it`, { file: files.certFile });
  }
  if (nowMs < Date.parse(cert.validFrom)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `TLS certificate ${files.certFile} (CN=${loaded.subject}) is not valid before ${new Date(cert.validFrom).toISOString()}`, { file: files.certFile });
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `TLS certificate ${files.certFile} (CN=${loaded.subject}) is not signed by the cluster CA ${files.caFile} (its issuer is ${cert.issuer.replace(/\n/g, ', ')}); the coordinator refuses it`, { file: files.certFile });
  }
  return loaded;
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
    // Asynchronously, like grpc-js's own providers: the server registers its watcher after this call.
    queueMicrotask(() => { if (this.caListeners.has(l)) l({ caCertificate: this.current.caCertificate }); });
  }

  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    queueMicrotask(() => { if (this.idListeners.has(l)) l({ certificate: this.current.certificate, privateKey: this.current.privateKey }); });
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }
}
