/**
 * A child process that does file operations on a FUSE mount for the chaos
 * harness (the harness never touches a mount itself: a paused agent must
 * only block this child). One JSON request per stdin line, one JSON answer
 * per stdout line: { id, ok: true, value? } or { id, ok: false, code }.
 */
import { constants, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';

export interface FileRequest {
  id: number;
  op: 'read-record' | 'write-record' | 'append' | 'create' | 'rename' | 'unlink' | 'stat';
  path: string;
  to?: string;
  data?: string;
  /**
   * A directory of the mount: an ENOENT answer counts only if it existed,
   * on the same device, before and after the call; otherwise the answer is
   * ENOMOUNT (the mount was gone: the name's absence says nothing).
   */
  guard?: string;
}

export const RECORD_BYTES = 64;

/** Error code prefix of a create whose O_EXCL open succeeded but whose write or close then failed. */
export const CREATED_THEN = 'CREATED_THEN_';

async function handle(r: FileRequest): Promise<string | null | undefined> {
  switch (r.op) {
    case 'read-record': {
      const fh = await fsp.open(r.path, constants.O_RDONLY);
      try {
        const buf = Buffer.alloc(RECORD_BYTES);
        const { bytesRead } = await fh.read(buf, 0, RECORD_BYTES, 0);
        const text = buf.subarray(0, bytesRead).toString('utf8').replace(/[\s\0]+$/, '');
        return text === '' ? null : text;
      } finally {
        await fh.close();
      }
    }
    case 'write-record': {
      const buf = Buffer.alloc(RECORD_BYTES, ' ');
      buf.write(r.data ?? '');
      buf[RECORD_BYTES - 1] = 10;
      const fh = await fsp.open(r.path, constants.O_WRONLY);
      try {
        await fh.write(buf, 0, RECORD_BYTES, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return undefined;
    }
    case 'append': {
      const fh = await fsp.open(r.path, constants.O_WRONLY | constants.O_APPEND);
      try {
        await fh.write(`${r.data}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return undefined;
    }
    case 'create': {
      const fh = await fsp.open(r.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      // The name exists from here on: a failure of the write or close is no failure of the create.
      try {
        try {
          await fh.write(r.data ?? '');
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw Object.assign(new Error('created, then the write failed'), { code: `${CREATED_THEN}${(e as NodeJS.ErrnoException).code ?? 'EIO'}` });
      }
      return undefined;
    }
    case 'rename':
      await fsp.rename(r.path, r.to ?? '');
      return undefined;
    case 'unlink':
      await fsp.unlink(r.path);
      return undefined;
    case 'stat':
      await fsp.stat(r.path);
      return undefined;
    default:
      throw Object.assign(new Error(`unknown op ${String((r as { op: unknown }).op)}`), { code: 'EINVAL' });
  }
}

/** handle(), with an ENOENT turned into ENOMOUNT unless r.guard was the same directory before and after. */
async function guarded(r: FileRequest): Promise<string | null | undefined> {
  if (r.guard === undefined) return handle(r);
  const dev = async () => (await fsp.stat(r.guard!).catch(() => undefined))?.dev;
  const before = await dev();
  try {
    return await handle(r);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const after = await dev();
    if (before === undefined || after !== before) throw Object.assign(new Error('mount gone'), { code: 'ENOMOUNT' });
    throw e;
  }
}

if (require.main === module) {
  const rl = createInterface({ input: process.stdin });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      let req: FileRequest;
      try {
        req = JSON.parse(line) as FileRequest;
      } catch {
        process.stdout.write(JSON.stringify({ id: -1, ok: false, code: 'EBADMSG' }) + '\n');
        return;
      }
      try {
        const value = await guarded(req);
        process.stdout.write(JSON.stringify({ id: req.id, ok: true, value }) + '\n');
      } catch (e) {
        process.stdout.write(JSON.stringify({ id: req.id, ok: false, code: (e as NodeJS.ErrnoException).code ?? (e as Error).message }) + '\n');
      }
    });
  });
  rl.on('close', () => void chain.then(() => process.exit(0)));
}
