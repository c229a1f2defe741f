import { execFileSync } from 'node:child_process';
import { InvalidArgumentError } from '../common/errors';

/** One "machine": a network namespace with one address on the cluster's switch. */
export interface NetnsMachine {
  /** etcd, c1…, a1… */
  name: string;
  /** Network namespace name (ip netns). */
  netns: string;
  address: string;
  /** Its cable's end on the switch; down = partitioned. */
  switchPort: string;
}

/**
 * Machines on one Ethernet switch, all on this host: a bridge in a
 * namespace of its own, every machine a namespace with a veth cable to it,
 * and one more cable from this (the root) namespace so the operator's
 * commands reach them. Addresses are 10.214.S.0/24 (S from the process id);
 * nothing is routed, nothing leaves the host. Partitioning a machine takes
 * its switch port down; dropFrom() loses one direction between two machines
 * (a policy rule in the receiver; no iptables/nft or qdisc modules needed).
 */
export class NetnsTopology {
  readonly tag: string;
  readonly switchNetns: string;
  readonly subnet: string;
  readonly consoleAddress: string;
  private readonly consoleLink: string;
  readonly machines: NetnsMachine[] = [];
  private readonly dropRules = new Set<string>();

  constructor(pid = process.pid) {
    this.tag = String(pid % 100000);
    this.switchNetns = `coherd-${this.tag}-switch`;
    this.subnet = `10.214.${1 + (pid % 250)}`;
    this.consoleAddress = `${this.subnet}.254`;
    this.consoleLink = `cr${this.tag}`;
  }

  static check(): void {
    if (process.getuid?.() !== 0) throw new InvalidArgumentError('INVALID_ARGUMENT', '--netns needs root (it creates network namespaces)');
    for (const tool of ['ip', 'nsenter']) {
      try {
        execFileSync(tool, ['-V'], { stdio: 'ignore' });
      } catch {
        throw new InvalidArgumentError('INVALID_ARGUMENT', `--netns needs ${tool} (Debian packages iproute2, util-linux)`);
      }
    }
  }

  /** Creates the switch and the console cable. */
  create(): void {
    ip('netns', 'add', this.switchNetns);
    ip('-n', this.switchNetns, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.switchNetns, 'link', 'set', 'br0', 'up');
    ip('-n', this.switchNetns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', this.consoleLink, 'type', 'veth', 'peer', 'name', `cs${this.tag}`, 'netns', this.switchNetns);
    ip('-n', this.switchNetns, 'link', 'set', `cs${this.tag}`, 'master', 'br0', 'up');
    ip('addr', 'add', `${this.consoleAddress}/24`, 'dev', this.consoleLink);
    ip('link', 'set', this.consoleLink, 'up');
  }

  /** Adds a machine with the host part `hostByte` of the subnet. */
  addMachine(name: string, hostByte: number): NetnsMachine {
    const m: NetnsMachine = { name, netns: `coherd-${this.tag}-${name}`, address: `${this.subnet}.${hostByte}`, switchPort: `p${this.tag}${name}` };
    const inside = `n${this.tag}${name}`;
    ip('netns', 'add', m.netns);
    ip('link', 'add', inside, 'netns', m.netns, 'type', 'veth', 'peer', 'name', m.switchPort, 'netns', this.switchNetns);
    ip('-n', this.switchNetns, 'link', 'set', m.switchPort, 'master', 'br0', 'up');
    ip('-n', m.netns, 'addr', 'add', `${m.address}/24`, 'dev', inside);
    ip('-n', m.netns, 'link', 'set', inside, 'up');
    ip('-n', m.netns, 'link', 'set', 'lo', 'up');
    // Lookups of the local table move behind the drop rules (pref 100), so a rule can discard packets addressed to this machine.
    ip('-n', m.netns, 'rule', 'add', 'pref', '1000', 'lookup', 'local');
    ip('-n', m.netns, 'rule', 'del', 'pref', '0');
    this.machines.push(m);
    return m;
  }

  machine(name: string): NetnsMachine {
    const m = this.machines.find((x) => x.name === name);
    if (!m) throw new InvalidArgumentError('INVALID_ARGUMENT', `no machine ${name} (have ${this.machines.map((x) => x.name).join(', ')})`);
    return m;
  }

  /** argv prefix that runs a command in the machine's network namespace (and only that: mounts stay visible to the host). */
  run(m: NetnsMachine): string[] {
    return ['nsenter', `--net=/run/netns/${m.netns}`, '--'];
  }

  /** Cuts the machine's cable (packets are dropped, as in a real partition). */
  partition(name: string): void {
    ip('-n', this.switchNetns, 'link', 'set', this.machine(name).switchPort, 'down');
  }

  heal(name: string): void {
    ip('-n', this.switchNetns, 'link', 'set', this.machine(name).switchPort, 'up');
  }

  /**
   * One-way real packet loss: machine `name` discards, on arrival, every
   * packet whose source is `fromAddress` (a policy rule routing it to a
   * blackhole; the sender sees nothing, as on a lossy link). Idempotent.
   */
  dropFrom(name: string, fromAddress: string): void {
    const m = this.machine(name);
    if (this.dropRules.has(`${m.netns} ${fromAddress}`)) return;
    ip('-n', m.netns, 'rule', 'add', 'pref', '100', 'from', `${fromAddress}/32`, 'blackhole');
    this.dropRules.add(`${m.netns} ${fromAddress}`);
  }

  /** Undoes dropFrom(). */
  undropFrom(name: string, fromAddress: string): void {
    const m = this.machine(name);
    if (!this.dropRules.delete(`${m.netns} ${fromAddress}`)) return;
    quiet('-n', m.netns, 'rule', 'del', 'pref', '100', 'from', `${fromAddress}/32`, 'blackhole');
  }

  /** The command an operator types to partition or heal a machine by hand. */
  partitionCommand(name: string, up = false): string {
    return `ip -n ${this.switchNetns} link set ${this.machine(name).switchPort} ${up ? 'up' : 'down'}`;
  }

  /**
   * Removes what an earlier `coherd up --netns` left when it was killed
   * outright (SIGKILL): namespaces coherd-<pid>-* whose pid is gone.
   */
  static sweepStale(): string[] {
    let list = '';
    try {
      list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const m of list.matchAll(/^(coherd-(\d+)-[a-z0-9]+)/gm)) {
      const pid = Number(m[2]);
      if (pid === process.pid % 100000 || alive(pid)) continue;
      quiet('netns', 'del', m[1]);
      quiet('link', 'del', `cr${m[2]}`);
      removed.push(m[1]);
    }
    return removed;
  }

  /** Removes every namespace and cable it made; never throws. */
  destroy(): void {
    for (const m of this.machines) quiet('netns', 'del', m.netns);
    quiet('link', 'del', this.consoleLink);
    quiet('netns', 'del', this.switchNetns);
  }
}

/** Whether a process with this pid (or, for tags cut to 5 digits, any pid ending so) may still own the namespaces. */
function alive(tag: number): boolean {
  try {
    process.kill(tag, 0);
    return true;
  } catch {
    // The tag is pid % 100000: on a machine with larger pids it is not a pid at all; keep what a live coherd may own.
    return execFileSync('sh', ['-c', `ps -eo pid=,args= | awk '$1 % 100000 == ${tag} && /coherd|main.js/' | head -1`], { encoding: 'utf8' }).trim() !== '';
  }
}

function ip(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`ip ${args.join(' ')} failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message}`);
  }
}

function quiet(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}
