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
  journalRoots: string[];
  mirrorDir: string;
  backingDir?: string;
  name?: string;
  sync?: boolean;
}

export class ReplicaProcess {
  private stderr = '';

  private constructor(readonly options: ReplicaProcessOptions, readonly child: ChildProcess) {
    child.stderr?.on('data', (d) => (this.stderr += d));
  }

  static async start(options: ReplicaProcessOptions): Promise<ReplicaProcess> {
    const args = ['replica', '--namespace', options.namespace, '--journals', options.journalRoots.join(','), '--mirror', options.mirrorDir, '--name', options.name ?? 'replica'];
    if (options.backingDir) args.push('--backing', options.backingDir);
    if (options.sync) args.push('--sync');
    const replica = new ReplicaProcess(options, spawnCli(args));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      replica.child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('following')) resolve();
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
