import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Command } from 'commander';
import * as fs from 'node:fs';
import { createLogger, Logger } from '../common/logger';
import { ByteRange, parseRange, WHOLE_FILE } from '../common/byte-range';
import { InvalidArgumentError, isCoherdError } from '../common/errors';
import { formatFencingToken } from '../common/wire';
import { CoherdClient } from '../agent/client/coherd-client';
import { LocalLockClient } from '../agent/local-api/local-lock-client';
import { DEFAULT_AGENT_SOCKET } from '../agent/local-api/protocol';
import { parseChoice, parseEndpoints, parseSeconds } from './options';
import { tlsFilesOf, withConnectHint, withTlsOptions } from './tls-options';
import { TlsFiles } from '../coordinator/transport-security';

/** Exit status when the lock could not be taken or was lost, like flock(1). */
const LOCK_FAILED = 1;

export function lockCommand(): Command {
  return withTlsOptions(new Command('lock')
    .description('hold a cluster range lock while CMD runs (like flock(1)); CMD gets COHERD_FENCING_TOKEN')
    .argument('<resource>', 'lock name (any string up to 1024 bytes)')
    .argument('<cmd...>', 'command to run while holding the lock (put it after --)')
    .option('--range <start:end>', 'byte range, END may be EOF', '0:EOF')
    .option('--mode <mode>', 'shared or exclusive', 'exclusive')
    .option('--timeout <seconds>', 'give up waiting after this long')
    .option('-n, --nonblock', 'fail at once if the lock is taken')
    .option('--owner <owner>', 'owner id within the session', '')
    .option('--coordinator <host:port,...>', 'coordinator endpoints (default $COHERD_COORDINATOR or 127.0.0.1:7070)')
    .option('--socket <path>', "lock through this host's agent (default $COHERD_AGENT_SOCKET, or the agent socket when it exists and no --coordinator is given)")
    .option('--ttl <seconds>', 'session lease TTL', '10')
    .option('-v, --verbose', 'say when waiting'))
    .action(async (resource: string, cmd: string[], opts, self: Command) => {
      const range = opts.range === '0:EOF' ? WHOLE_FILE : parseRange(opts.range);
      const mode = parseChoice(String(opts.mode).toLowerCase(), '--mode', ['shared', 'exclusive'] as const) === 'shared' ? 'SHARED' : 'EXCLUSIVE';
      const timeoutMs = opts.timeout === undefined ? undefined : parseSeconds(opts.timeout, '--timeout');
      if (cmd.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'no command given (coherd lock RESOURCE -- CMD ARGS…)');
      const logger = createLogger({ level: opts.verbose ? 'info' : 'warn' });
      const onQueued = () => { if (opts.verbose) process.stderr.write(`coherd: waiting for ${resource}\n`); };
      const client = await lockSession(opts, tlsFilesOf(self), logger);
      let grant;
      try {
        grant = await client.acquire({ resource, mode, range, owner: opts.owner, wait: !opts.nonblock, timeoutMs, onQueued });
      } catch (e) {
        await client.close();
        if (isCoherdError(e) && ['LOCK_CONFLICT', 'TIMEOUT', 'DEADLOCK'].includes(e.reason)) {
          process.stderr.write(`coherd: ${e.message}\n`);
          process.exitCode = LOCK_FAILED;
          return;
        }
        throw e;
      }
      process.exitCode = await runHoldingLock(cmd, formatFencingToken(grant.fencingToken), grant.fencingToken, client);
      await client.close();
    });
}

interface LockSession {
  sessionId: string;
  acquire(a: { resource: string; mode: 'SHARED' | 'EXCLUSIVE'; range: ByteRange; owner: string; wait: boolean; timeoutMs?: number; onQueued(): void }): Promise<{ fencingToken: { epoch: number; counter: number } }>;
  once(event: 'fenced', fn: (reason: string) => void): unknown;
  close(): Promise<void>;
}

/** Through the host's agent when one runs here (its session), else a session of our own. */
async function lockSession(opts: { socket?: string; coordinator?: string; ttl: string }, tls: TlsFiles | undefined, logger: Logger): Promise<LockSession> {
  const socketPath = opts.socket ?? process.env.COHERD_AGENT_SOCKET ?? (!opts.coordinator && !tls && fs.existsSync(DEFAULT_AGENT_SOCKET) ? DEFAULT_AGENT_SOCKET : undefined);
  if (socketPath) {
    const local = await LocalLockClient.connect(socketPath);
    let sessionId = '';
    return {
      get sessionId() { return sessionId; },
      acquire: async (a) => { const g = await local.acquire(a); sessionId = g.sessionId; return g; },
      once: (event, fn) => local.once(event, fn),
      close: async () => local.close(),
    };
  }
  const client = await withConnectHint(tls, () => CoherdClient.connect({
    endpoints: parseEndpoints(opts.coordinator), clientName: `coherd-lock:${process.pid}`,
    ttlMs: parseSeconds(opts.ttl, '--ttl'), logger, tls,
  }));
  return {
    get sessionId() { return client.sessionId; },
    acquire: (a) => client.acquire({ ...a, space: 'range' }),
    once: (event, fn) => client.once(event, fn),
    close: () => client.close(),
  };
}

function runHoldingLock(cmd: string[], token: string, fencing: { epoch: number; counter: number }, client: LockSession): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, COHERD_FENCING_TOKEN: token, COHERD_FENCING_EPOCH: String(fencing.epoch), COHERD_FENCING_COUNTER: String(fencing.counter), COHERD_SESSION_ID: client.sessionId },
    });
    let lost = false;
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    client.once('fenced', (reason: string) => {
      lost = true;
      process.stderr.write(`coherd: lock lost (${reason}); stopping the command\n`);
      child.kill('SIGTERM');
    });
    child.on('error', (e) => {
      process.stderr.write(`coherd: cannot run ${cmd[0]}: ${e.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (lost) return resolve(LOCK_FAILED);
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}
