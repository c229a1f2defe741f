/**
 * A `coherd replica` child process for end-to-end tests: started on the
 * agents' state directories (where their journals are), stopped or killed
 * by pid. Its stderr (warn and above) is kept for failure messages.
 */
import { ChildProcess } from 'node:child_process';
import * as nodePath from 'node:path';
import { CliResult, runCli, spawnCli, stopChild } from './cluster';

export interface ReplicaProcessOptions {
  namespace: string;
  /** --journals; at least this or coordinator. */
  journalRoots?: string[];
  /** --coordinator: find agents through the sessions they open. */
  coordinator?: string;
  /** --metrics-listen (e.g. 127.0.0.1:0); the bound address is in ReplicaProcess.metricsAddress. */
  metricsListen?: string;
  mirrorDir: string;
  backingDir?: string;
  name?: string;
  sync?: boolean;
}

export class ReplicaProcess {
  private stderr = '';
  /** Where /metrics, /healthz and /readyz are served, when started with metricsListen. */
  metricsAddress: string | undefined;

  private constructor(readonly options: ReplicaProcessOptions, readonly child: ChildProcess) {
    child.stderr?.on('data', (d) => (this.stderr += d));
  }

  static async start(options: ReplicaProcessOptions): Promise<ReplicaProcess> {
    const args = ['replica', '--namespace', options.namespace, '--mirror', options.mirrorDir, '--name', options.name ?? 'replica'];
    if (options.journalRoots) args.push('--journals', options.journalRoots.join(','));
    if (options.coordinator) args.push('--coordinator', options.coordinator);
    if (options.metricsListen) args.push('--metrics-listen', options.metricsListen);
    if (options.backingDir) args.push('--backing', options.backingDir);
    if (options.sync) args.push('--sync');
    const replica = new ReplicaProcess(options, spawnCli(args));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      replica.child.stdout!.on('data', (d) => {
        out += d;
        if (!out.includes('following')) return;
        replica.metricsAddress = /metrics on (\S+)/.exec(out)?.[1];
        resolve();
      });
      replica.child.once('exit', (code) => reject(new Error(`replica exited (${code}) before starting:\n${replica.stderr}`)));
    });
    return replica;
  }

  get stateDir(): string {
    return `${nodePath.resolve(this.options.mirrorDir)}.replica-state`;
  }

  get log(): string {
    return this.stderr;
  }

  kill(): Promise<void> {
    return stopChild(this.child, 'SIGKILL');
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM');
  }

  status(): Promise<CliResult> {
    return runCli(['replica', 'status', '--state-dir', this.stateDir, '--json']);
  }

  verify(backingDir: string): Promise<CliResult> {
    return runCli(['replica', 'verify', '--backing', backingDir, '--mirror', this.options.mirrorDir], {}, 60_000);
  }
}
