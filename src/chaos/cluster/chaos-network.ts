import * as nodePath from 'node:path';
import { EtcdProcess } from '../../common/etcd-process';
import { Logger } from '../../common/logger';
import { NetnsMachine, NetnsTopology } from '../../cli/netns-topology';
import { EtcdCluster } from '../../../test/support/etcd-cluster';
import { NetnsLink } from './netns-link';

/** Port of every coordinator on its own machine (and the first port of a lock host's forwarder). */
const COORDINATOR_PORT = 7070;

/**
 * chaos --netns: every host of the run on a machine of its own (a network
 * namespace on one switch, NetnsTopology as `coherd up --netns` uses it):
 * e0–e2 etcd, c0… coordinators, a0… agents, l0… lock hosts. Host bytes are
 * two digits each so a lock host's forwarder address has the length of a
 * coordinator's (leader hints are rewritten in place).
 */
export class ChaosNetwork {
  readonly topology = new NetnsTopology();
  readonly etcd: NetnsMachine[] = [];
  readonly coordinators: NetnsMachine[] = [];
  readonly agents: NetnsMachine[] = [];
  readonly lockHosts: NetnsMachine[] = [];

  /** Checks root and ip, removes what a killed run left, creates the switch and the machines. */
  static create(o: { agents: number; coordinators: number; lockHosts: number; logger: Logger }): ChaosNetwork {
    NetnsTopology.check();
    for (const gone of NetnsTopology.sweepStale()) o.logger.warn('removed a namespace left by a killed run', { netns: gone });
    const n = new ChaosNetwork();
    const t = n.topology;
    try {
      t.create();
      for (let i = 0; i < 3; i++) n.etcd.push(t.addMachine(`e${i}`, 12 + i));
      for (let i = 0; i < o.coordinators; i++) n.coordinators.push(t.addMachine(`c${i}`, 21 + i));
      for (let i = 0; i < o.agents; i++) n.agents.push(t.addMachine(`a${i}`, 31 + i));
      for (let i = 0; i < o.lockHosts; i++) n.lockHosts.push(t.addMachine(`l${i}`, 41 + i));
    } catch (e) {
      t.destroy();
      throw e;
    }
    return n;
  }

  /** The three etcd members, one per machine, data and logs under root (not started). */
  etcdCluster(root: string): EtcdCluster {
    const c = new EtcdCluster();
    const initialCluster = this.etcd.map((m) => `${m.name}=http://${m.address}:2380`).join(',');
    for (const m of this.etcd) {
      c.members.push(new EtcdProcess({
        name: m.name, host: m.address, clientPort: 2379, peerPort: 2380, initialCluster, wrapper: this.topology.run(m),
        dataDir: nodePath.join(root, `etcd-${m.name}`), logFile: nodePath.join(root, `etcd-${m.name}.log`),
      }));
    }
    return c;
  }

  coordinatorAddress(i: number): string {
    return `${this.coordinators[i].address}:${COORDINATOR_PORT}`;
  }

  /** Agent i's links to the coordinators (it dials their real addresses from its machine). */
  agentLink(i: number): NetnsLink {
    const addresses = this.coordinators.map((_, j) => this.coordinatorAddress(j));
    return new NetnsLink(`agent-${i}`, this.topology, this.agents[i], this.coordinators, addresses);
  }

  /** Lock host i's links: a forwarder on its machine that the in-process lock client dials. */
  async lockLink(i: number): Promise<NetnsLink> {
    const addresses = this.coordinators.map((_, j) => this.coordinatorAddress(j));
    const link = new NetnsLink(`lock-${i}`, this.topology, this.lockHosts[i], this.coordinators, []);
    await link.startForwarder(addresses);
    return link;
  }

  /** Coordinator i's links to every etcd member. */
  etcdLink(i: number): NetnsLink {
    return new NetnsLink(`coordinator-${i}`, this.topology, this.coordinators[i], this.etcd, this.etcd.map((m) => `http://${m.address}:2379`));
  }

  /** Removes every namespace and cable; never throws. */
  destroy(): void {
    this.topology.destroy();
  }
}
