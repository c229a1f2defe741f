import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from './errors';

/** gRPC metadata key that carries the admin token on plain-text (loopback) connections. */
export const ADMIN_TOKEN_METADATA = 'x-coherd-admin-token';

/** The shared default: one token per host, readable only by its owner (the coordinator's user) and root. */
export const SYSTEM_ADMIN_TOKEN_FILE = '/run/coherd-admin/token';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** Where a user that cannot write /run keeps its token (a coordinator run by hand, not by systemd or as root). */
export function userAdminTokenFile(): string {
  return path.join(os.tmpdir(), `coherd-admin-${process.getuid?.() ?? 'user'}`, 'token');
}

/** Files tried in order: $COHERD_ADMIN_TOKEN_FILE, else the system file, then this user's own. */
export function defaultAdminTokenFiles(): string[] {
  const env = process.env.COHERD_ADMIN_TOKEN_FILE;
  return env ? [env] : [SYSTEM_ADMIN_TOKEN_FILE, userAdminTokenFile()];
}

/**
 * The coordinator's side (DESIGN §10, issue 15): without TLS, admin RPCs
 * need a token only the coordinator's user and root can read. Reuses the
 * token in `file` (so the coordinators of one host share it) or creates it
 * atomically: mode 0600 in a 0700 directory. A token file that others may
 * read is refused. Without `file`, the first default that works.
 */
export function ensureAdminToken(file?: string): { file: string; token: string } {
  if (file !== undefined) return { file, token: ensureIn(file) };
  const failures: string[] = [];
  for (const candidate of defaultAdminTokenFiles()) {
    try {
      return { file: candidate, token: ensureIn(candidate) };
    } catch (e) {
      failures.push(`${candidate}: ${(e as Error).message}`);
    }
  }
  throw new InvalidArgumentError('INVALID_ARGUMENT', `cannot create an admin token file (${failures.join('; ')}); give --admin-token-file`);
}

/** The client's side: the first readable token among `file` or the defaults; undefined when there is none (the call is then refused). */
export function readAdminToken(file?: string): string | undefined {
  for (const candidate of file !== undefined ? [file] : defaultAdminTokenFiles()) {
    try {
      const token = fs.readFileSync(candidate, 'utf8').trim();
      if (TOKEN_PATTERN.test(token)) return token;
    } catch {
      /* not there or not ours to read: try the next */
    }
  }
  return undefined;
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
}

function ensureIn(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = readOwn(file);
  if (existing !== undefined) return existing;
  const token = randomBytes(32).toString('hex');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, token + '\n', { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file); // atomic: a coordinator starting beside this one either wins or reads the winner's token
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const written = readOwn(file);
  if (written === undefined) throw new Error('token file vanished while it was created');
  return written;
}

/** The token in file, if it exists; throws when it is readable by others or malformed. */
function readOwn(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); it must be 0600`);
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!TOKEN_PATTERN.test(token)) throw new Error(`${file} does not hold an admin token`);
  return token;
}
