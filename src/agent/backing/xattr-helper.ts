import { ChildProcess, spawn } from 'child_process';
import { createInterface } from 'readline';
import { Logger } from '../../common/logger';
import { ErrnoError } from './errno-error';

/**
 * Extended attributes for the backing store. Node has no xattr API, so one
 * long-lived helper process (python3's os.*xattr, never following symlinks)
 * serves them over JSON lines: asynchronous, about one pipe round trip per
 * call, no native addon. It is started on first use and restarted if it
 * dies; without python3 every xattr call fails with EOPNOTSUPP.
 */
const SCRIPT = String.raw`
import sys, os, json, base64, errno
for line in sys.stdin:
    r = json.loads(line)
    out = {"id": r["id"]}
    try:
        op, p = r["op"], r["path"]
        if op == "get":
            out["value"] = base64.b64encode(os.getxattr(p, r["name"], follow_symlinks=False)).decode()
        elif op == "set":
            os.setxattr(p, r["name"], base64.b64decode(r["value"]), r["flags"], follow_symlinks=False)
        elif op == "list":
            out["names"] = os.listxattr(p, follow_symlinks=False)
        elif op == "remove":
            os.removexattr(p, r["name"], follow_symlinks=False)
        else:
            out["errno"] = "EINVAL"
    except OSError as e:
        out["errno"] = errno.errorcode.get(e.errno, "EIO")
    except Exception:
        out["errno"] = "EIO"
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
`;

interface XattrRequest {
  op: 'get' | 'set' | 'list' | 'remove';
  path: string;
  name?: string;
  value?: string;
  flags?: number;
}

interface XattrResponse {
  id: number;
  errno?: string;
  value?: string;
  names?: string[];
}

export class XattrHelper {
  private child: ChildProcess | null = null;
  private unavailable = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: XattrResponse) => void; reject: (e: Error) => void }>();

  /** `command`: the python3 executable; false disables xattrs (EOPNOTSUPP). */
  constructor(private readonly command: string | false, private readonly logger: Logger) {}

  async get(path: string, name: string): Promise<Buffer> {
    const r = await this.call({ op: 'get', path, name });
    return Buffer.from(r.value ?? '', 'base64');
  }

  async set(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    await this.call({ op: 'set', path, name, value: value.toString('base64'), flags });
  }

  async list(path: string): Promise<string[]> {
    return (await this.call({ op: 'list', path })).names ?? [];
  }

  async remove(path: string, name: string): Promise<void> {
    await this.call({ op: 'remove', path, name });
  }

  /** Stops the helper; pending calls fail with EIO. Idempotent. */
  close(): void {
    const child = this.child;
    this.child = null;
    if (child) child.kill('SIGTERM');
    this.failPending(new ErrnoError('EIO', 'xattr helper closed'));
  }

  private async call(request: XattrRequest): Promise<XattrResponse> {
    const child = this.ensureChild();
    if (!child?.stdin) throw new ErrnoError('EOPNOTSUPP', 'extended attributes are unavailable (no python3 helper)');
    const id = this.nextId++;
    const response = await new Promise<XattrResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.stdin!.write(JSON.stringify({ id, ...request }) + '\n');
    });
    if (response.errno) throw new ErrnoError(response.errno, `xattr ${request.op} failed`);
    return response;
  }

  private ensureChild(): ChildProcess | null {
    if (this.child || this.unavailable || this.command === false) return this.child;
    const child = spawn(this.command, ['-u', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.on('error', (e) => {
      this.logger.warn('xattr helper failed to start; extended attributes disabled', { error: e.message });
      this.unavailable = true;
      this.dropChild(child, new ErrnoError('EOPNOTSUPP', 'extended attributes are unavailable'));
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.logger.warn('xattr helper exited; restarting on next use', { code, signal });
      this.dropChild(child, new ErrnoError('EIO', 'xattr helper exited'));
    });
    child.stdin!.on('error', () => undefined);
    child.stderr!.on('data', (d: Buffer) => this.logger.warn('xattr helper stderr', { text: d.toString().slice(0, 500) }));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    return child;
  }

  private onLine(line: string): void {
    let response: XattrResponse;
    try {
      response = JSON.parse(line) as XattrResponse;
    } catch {
      this.logger.error('xattr helper sent a malformed line', { line: line.slice(0, 200) });
      return;
    }
    const waiter = this.pending.get(response.id);
    if (!waiter) return;
    this.pending.delete(response.id);
    waiter.resolve(response);
  }

  private dropChild(child: ChildProcess, error: Error): void {
    if (this.child !== child) return;
    this.child = null;
    this.failPending(error);
  }

  private failPending(error: Error): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiters) w.reject(error);
  }
}
