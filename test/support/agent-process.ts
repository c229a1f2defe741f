import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CLI, stopChild } from './cluster';

/** One `coherd agent` process and its mount (AgentCluster, and `coherd chaos`'s cluster). */
export class AgentProcess {
  child: ChildProcess | undefined;
  /** Called with every JSON log line as it arrives (chaos: the agent's lease deadlines). */
  onRecord: ((record: Record<string, unknown>) => void) | undefined;
  /** Session ids the agent has reported (at start and after each renewal), oldest first. */
  readonly sessions: string[] = [];
  /** host:port of its /metrics when started with --metrics-listen (from its "mounted" line). */
  metricsAddress: string | undefined;
  private log: WriteStream | undefined;
  private logTail = '';
  private sessionWaiters: Array<() => void> = [];

  constructor(
    readonly index: number,
    readonly mountPoint: string,
    readonly stateDir: string,
    readonly logFile: string,
  ) {}

  get pid(): number {
    if (!this.child?.pid) throw new Error(`agent ${this.index} is not running`);
    return this.child.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The session id the agent reported last. */
  get sessionId(): string {
    return this.sessions[this.sessions.length - 1] ?? '';
  }

  /** The last few KiB of the agent's log (for assertion messages). */
  get recentLog(): string {
    return this.logTail;
  }

  /** `wrapper`: an argv prefix to run the agent under (chaos --netns: nsenter into its network namespace). */
  async start(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, wrapper: string[] = []): Promise<void> {
    if (this.alive) throw new Error(`agent ${this.index} is already running`);
    this.log?.end();
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const argv = [...wrapper, process.execPath, CLI, 'agent', ...args];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(String(code ?? signal))));
    createInterface({ input: child.stderr! }).on('line', (line) => this.onLogLine(line));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent ${this.index} not mounted after ${timeoutMs} ms:\n${this.logTail}`)), timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        this.log?.write(`[stdout] ${line}\n`);
        if (line.startsWith('coherd agent mounted')) {
          this.metricsAddress = /metrics on (\S+)/.exec(line)?.[1];
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`agent ${this.index} exited (${how}) before mounting:\n${this.logTail}`));
      });
    }).catch(async (e) => {
      await stopChild(child, 'SIGKILL');
      throw e;
    });
  }

  /** Sends a signal; for signals that end the process, waits until it is gone (SIGKILL after 5 s). */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGUSR1' || signal === 'SIGUSR2' || signal === 'SIGHUP') {
      child.kill(signal);
      return;
    }
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    await stopChild(child, signal);
  }

  /** Resolves once the agent reports a session other than `previous` (a renewal), or rejects after timeoutMs. */
  async waitForNewSession(previous: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessionId === previous || this.sessionId === '') {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`agent ${this.index} reported no new session within ${timeoutMs} ms (still ${previous}):\n${this.logTail}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.sessionWaiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.sessionId;
  }

  closeLog(): void {
    this.log?.end();
    this.log = undefined;
  }

  private onLogLine(line: string): void {
    this.log?.write(line + '\n');
    this.logTail = (this.logTail + line + '\n').slice(-8000);
    if (process.env.COHERD_TEST_VERBOSE) process.stderr.write(`[agent ${this.index}] ${line}\n`);
    let record: { message?: string; session?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return;
    }
    this.onRecord?.(record as Record<string, unknown>);
    if ((record.message === 'agent running' || record.message === 'new session after fencing') && typeof record.session === 'string' && record.session) {
      if (this.sessionId !== record.session) this.sessions.push(record.session);
      const waiters = this.sessionWaiters;
      this.sessionWaiters = [];
      for (const w of waiters) w();
    }
  }
}
