import * as nodePath from 'path';
import { sha256File, TreeEntry, walkTree } from './tree-walk';

export interface Difference {
  path: string;
  kind: 'missing' | 'extra' | 'type' | 'size' | 'mode' | 'content' | 'target';
  backing?: string;
  mirror?: string;
}

/**
 * Compares the mirror with the backing store (DESIGN §11, `coherd replica
 * verify`): names, types, sizes, permission bits, SHA-256 of file contents
 * and symlink targets. Ownership and times are not compared (a replica not
 * running as root cannot set owners). Meaningful at quiescence only.
 */
export async function verifyMirror(backingDir: string, mirrorDir: string): Promise<Difference[]> {
  const [backing, mirror] = await Promise.all([walkTree(backingDir), walkTree(mirrorDir)]);
  const diffs: Difference[] = [];
  for (const [rel, b] of backing) {
    const m = mirror.get(rel);
    const path = '/' + rel;
    if (!m) {
      diffs.push({ path, kind: 'missing', backing: b.type });
      continue;
    }
    const d = await compareEntry(path, b, m, nodePath.join(backingDir, rel), nodePath.join(mirrorDir, rel));
    if (d) diffs.push(d);
  }
  for (const [rel, m] of mirror) if (!backing.has(rel)) diffs.push({ path: '/' + rel, kind: 'extra', mirror: m.type });
  return diffs;
}

async function compareEntry(path: string, b: TreeEntry, m: TreeEntry, bAbs: string, mAbs: string): Promise<Difference | undefined> {
  if (b.type !== m.type) return { path, kind: 'type', backing: b.type, mirror: m.type };
  if (b.type === 'symlink' && b.target !== m.target) return { path, kind: 'target', backing: b.target, mirror: m.target };
  if (b.type === 'symlink') return undefined;
  if (path !== '/' && b.mode !== m.mode) return { path, kind: 'mode', backing: b.mode.toString(8), mirror: m.mode.toString(8) };
  if (b.type !== 'file') return undefined;
  if (b.size !== m.size) return { path, kind: 'size', backing: String(b.size), mirror: String(m.size) };
  const [hb, hm] = await Promise.all([sha256File(bAbs), sha256File(mAbs)]);
  return hb === hm ? undefined : { path, kind: 'content', backing: hb, mirror: hm };
}
