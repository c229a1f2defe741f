import { ChildProcess, spawn } from 'node:child_process';
import * as nodePath from 'node:path';
import { NetnsMachine, NetnsTopology } from '../../cli/netns-topology';

/** What a network fault cuts: both ways, or one way (host→targets or targets→host). */
export interface CuttableLink {
  readonly name: string;
  blackhole(): void;
  dropOneWay(direction: 'to-target' | 'to-client'): void;
  heal(): void;
}

/**
 * chaos --netns: one machine's links to a set of target machines (an
 * agent's or lock client's to the coordinators, a coordinator's to the etcd
 * members). A cut is real packet loss: the receiving machine discards the
 * sender's packets on arrival (NetnsTopology.dropFrom), so "to-target" drops
 * what the host sends and "to-client" what the targets send back.
 */
export class NetnsLink implements CuttableLink {
  private forwarder: ChildProcess | undefined;

  constructor(
    readonly name: string,
    private readonly topology: NetnsTopology,
    readonly host: NetnsMachine,
    private readonly targets: NetnsMachine[],
    /** What the host's clients dial (the targets' addresses, or the forwarder's). */
    public endpoints: string[],
  ) {}

  blackhole(): void {
    this.cut(true, true);
  }

  dropOneWay(direction: 'to-target' | 'to-client'): void {
    this.cut(direction === 'to-target', direction === 'to-client');
  }

  heal(): void {
    for (const t of this.targets) {
      this.topology.undropFrom(t.name, this.host.address);
      this.topology.undropFrom(this.host.name, t.address);
    }
  }

  /**
   * For clients that live in the harness (lock clients): a TCP forwarder
   * inside the host's namespace, one port per target, so their traffic to
   * the coordinators leaves from the host's address and crosses the switch.
   * Leader hints naming a target are rewritten to the forwarder's port for it.
   */
  async startForwarder(targets: string[]): Promise<void> {
    const main = nodePath.join(__dirname, 'netns-forwarder-main.js');
    const [cmd, ...prefix] = this.topology.run(this.host);
    const child = spawn(cmd, [...prefix, process.execPath, main, this.host.address, '7070', ...targets], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.forwarder = child;
    this.endpoints = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`chaos: forwarder of ${this.name} did not start within 10 s`)), 10_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^forwarding (\S+)\n/m.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1].split(',')); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chaos: forwarder of ${this.name} exited with ${code}`)); });
    });
  }

  get forwarderPid(): number | undefined {
    return this.forwarder?.pid;
  }

  async stop(): Promise<void> {
    this.heal();
    const f = this.forwarder;
    if (!f || f.exitCode !== null || f.signalCode !== null) return;
    const exited = new Promise<void>((r) => f.once('exit', () => r()));
    f.stdin!.end(); // it exits when its stdin closes (also when the harness dies)
    const timer = setTimeout(() => f.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private cut(toTarget: boolean, toClient: boolean): void {
    for (const t of this.targets) {
      if (toTarget) this.topology.dropFrom(t.name, this.host.address);
      if (toClient) this.topology.dropFrom(this.host.name, t.address);
    }
  }
}
