import { Command } from 'commander';
import { AdminClient } from '../agent/client/admin-client';
import { formatRange, END_OF_FILE } from '../common/byte-range';
import { boundedString } from '../common/wire';
import { parseEndpoints } from './options';
import { formatAgeMs, formatTable } from './table-format';
import { tlsFilesOf, withConnectHint, withTlsOptions } from './tls-options';

type Row = Record<string, unknown>;

type AdminCalls = Pick<AdminClient, 'status' | 'listSessions' | 'dumpLocks' | 'evict'>;

/** An admin client whose failures to connect carry a TLS hint. */
export function admin(cmd: Command): AdminCalls {
  const tls = tlsFilesOf(cmd);
  const client = new AdminClient(parseEndpoints(cmd.opts().coordinator), tls, undefined, cmd.opts().adminTokenFile ?? process.env.COHERD_ADMIN_TOKEN_FILE);
  return {
    status: () => withConnectHint(tls, () => client.status()),
    listSessions: () => withConnectHint(tls, () => client.listSessions()),
    dumpLocks: (prefix?: string, limit?: number) => withConnectHint(tls, () => client.dumpLocks(prefix, limit)),
    evict: (id: string) => withConnectHint(tls, () => client.evict(id)),
  };
}

function rangeText(r: Row | undefined): string {
  if (!r) return '';
  const end = Number(r.end);
  return formatRange({ start: Number(r.start), end: end >= END_OF_FILE ? END_OF_FILE : end });
}

export function withCoordinator(c: Command): Command {
  return withTlsOptions(c.option('--coordinator <host:port,...>', 'coordinator endpoints (default $COHERD_COORDINATOR or 127.0.0.1:7070)').option('--json', 'print JSON')
    .option('--admin-token-file <file>', 'without TLS: the coordinator\'s admin token ($COHERD_ADMIN_TOKEN_FILE; default /run/coherd-admin/token, else this user\'s temp file)'));
}

export function locksCommand(): Command {
  return withCoordinator(new Command('locks').description('list granted tokens and locks with their waiters'))
    .option('--prefix <resource>', 'only resources starting with this')
    .action(async (opts, cmd: Command) => {
      const dump = await admin(cmd).dumpLocks(boundedString(opts.prefix, '--prefix', 1024, false));
      if (opts.json) return void process.stdout.write(JSON.stringify(dump, null, 2) + '\n');
      const locks = (dump.locks as Row[]) ?? [];
      const waiters = (dump.waiters as Row[]) ?? [];
      const waitingOn = (l: Row) => waiters.filter((w) => w.resource === l.resource && w.space === l.space).length;
      const rows = locks.map((l) => {
        const f = l.fencingToken as Row;
        return [String(l.resource), String(l.space), `${l.sessionId}${l.owner ? '/' + l.owner : ''}`, String(l.mode), rangeText(l.range as Row), `${f.epoch}.${f.counter}`, formatAgeMs(Number(l.ageMs)), String(waitingOn(l))];
      });
      process.stdout.write(formatTable(['RESOURCE', 'SPACE', 'HOLDER', 'MODE', 'RANGE', 'FENCING', 'AGE', 'WAITERS'], rows));
      if (waiters.length) {
        process.stdout.write('\n' + formatTable(['WAITING RESOURCE', 'SPACE', 'SESSION', 'MODE', 'RANGE', 'WAITED'],
          waiters.map((w) => [String(w.resource), String(w.space), `${w.sessionId}${w.owner ? '/' + w.owner : ''}`, String(w.mode), rangeText(w.range as Row), formatAgeMs(Number(w.waitedMs))])));
      }
      const direct = (dump.direct as Row[]) ?? [];
      if (direct.length) {
        process.stdout.write('\n' + formatTable(['DIRECT RESOURCE', 'SINCE', 'SHARED', 'WHY'],
          direct.map((d) => [String(d.resource), formatAgeMs(Number(d.ageMs)), `${formatAgeMs(Number(d.sharedMsAgo))} ago`, String(d.reason)])));
      }
    });
}

export function sessionsCommand(): Command {
  return withCoordinator(new Command('sessions').description('list live sessions')).action(async (opts, cmd: Command) => {
    const res = await admin(cmd).listSessions();
    if (opts.json) return void process.stdout.write(JSON.stringify(res, null, 2) + '\n');
    const rows = ((res.sessions as Row[]) ?? []).map((s) => [
      String(s.sessionId), String(s.clientName), String(s.peer || '-'), formatAgeMs(Number(s.ttlMs)),
      formatAgeMs(Number(s.sinceHeartbeatMs)), String(s.grants), s.connected ? 'yes' : 'no',
    ]);
    process.stdout.write(formatTable(['SESSION', 'CLIENT', 'PEER', 'TTL', 'LAST HEARTBEAT', 'GRANTS', 'CONNECTED'], rows));
  });
}

export function evictCommand(): Command {
  return withCoordinator(new Command('evict').description('end a session: revoke its lease and free everything it holds'))
    .argument('<session-id>', 'session to evict')
    .action(async (id: string, opts, cmd: Command) => {
      const res = await admin(cmd).evict(boundedString(id, 'session id', 64, true));
      if (opts.json) return void process.stdout.write(JSON.stringify(res) + '\n');
      process.stdout.write(`evicted ${id}: ${res.freedGrants} grants freed\n`);
    });
}
