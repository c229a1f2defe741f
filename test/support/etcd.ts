export { EtcdProcess, startEtcd } from '../../src/common/etcd-process';
