import * as fs from 'node:fs';
import { Etcd3, IOptions } from 'etcd3';
import { Logger } from '../common/logger';
import { UnavailableError } from '../common/errors';

export interface EtcdConnectionOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  etcdEndpoints: string[];
  etcdUsername?: string;
  etcdPassword?: string;
  /** PEM files for etcd over TLS. */
  etcdCaFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
}

/** Connects and proves etcd answers; an unreachable etcd is a clear error naming the addresses tried. */
export async function connectEtcd(o: EtcdConnectionOptions, logger: Logger): Promise<Etcd3> {
  const options: IOptions = { hosts: o.etcdEndpoints, dialTimeout: 3000 };
  if (o.etcdUsername) options.auth = { username: o.etcdUsername, password: o.etcdPassword ?? '' };
  if (o.etcdCaFile) {
    options.credentials = {
      rootCertificate: fs.readFileSync(o.etcdCaFile),
      certChain: o.etcdCertFile ? fs.readFileSync(o.etcdCertFile) : undefined,
      privateKey: o.etcdKeyFile ? fs.readFileSync(o.etcdKeyFile) : undefined,
    };
  }
  const etcd = new Etcd3(options);
  try {
    await etcd.maintenance.status({ deadline: Date.now() + 4000 });
  } catch (e) {
    etcd.close();
    throw new UnavailableError('ETCD_UNAVAILABLE', `etcd unreachable at ${o.etcdEndpoints.join(',')}`, { endpoints: o.etcdEndpoints }, { cause: e });
  }
  logger.info('connected to etcd', { endpoints: o.etcdEndpoints });
  return etcd;
}
