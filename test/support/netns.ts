import { execFileSync } from 'node:child_process';

/**
 * A test host in its own network namespace, joined to this one by a veth
 * pair on a /30 of our own: traffic only ever goes between the two ends.
 * partition() takes the link down (packets are dropped, connections hang
 * as on a real network partition); heal() brings it back.
 */
export class NetnsHost {
  readonly name: string;
  readonly hostSide: string;
  readonly nsSide: string;
  readonly hostAddress: string;
  readonly nsAddress: string;

  constructor(index: number) {
    const tag = `${process.pid % 10000}${index}`;
    this.name = `coherd-t${tag}`;
    this.hostSide = `ch${tag}`;
    this.nsSide = `cn${tag}`;
    const octet = (process.pid % 60) * 4 + index * 4 + 1;
    this.hostAddress = `10.213.${Math.floor(octet / 256) + 1}.${octet % 256}`;
    this.nsAddress = `10.213.${Math.floor(octet / 256) + 1}.${(octet % 256) + 1}`;
  }

  static usable(): boolean {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
      return process.getuid?.() === 0;
    } catch {
      return false;
    }
  }

  create(): void {
    this.destroy();
    ip('netns', 'add', this.name);
    ip('link', 'add', this.hostSide, 'type', 'veth', 'peer', 'name', this.nsSide);
    ip('link', 'set', this.nsSide, 'netns', this.name);
    ip('addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostSide);
    ip('link', 'set', this.hostSide, 'up');
    ip('netns', 'exec', this.name, 'ip', 'addr', 'add', `${this.nsAddress}/30`, 'dev', this.nsSide);
    ip('netns', 'exec', this.name, 'ip', 'link', 'set', this.nsSide, 'up');
    ip('netns', 'exec', this.name, 'ip', 'link', 'set', 'lo', 'up');
  }

  partition(): void {
    ip('link', 'set', this.hostSide, 'down');
  }

  heal(): void {
    ip('link', 'set', this.hostSide, 'up');
  }

  /** argv prefix that runs a command inside the namespace. */
  exec(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv];
  }

  destroy(): void {
    try { ip('link', 'del', this.hostSide); } catch { /* not there */ }
    try { ip('netns', 'del', this.name); } catch { /* not there */ }
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
