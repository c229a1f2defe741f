import { constants } from 'os';
import { fuseErrnoOf } from '../fuse-errno';
import type { VopBuilder } from '../vop-builder';
import type { VopRunner } from '../../vop';
import type { EntriesHold } from '../../coherency/kernel-cache-link';
import { CAPABILITY_XATTR, CapabilityAbsence } from './capability-absence';
import type { PathNode } from './path-node-table';

const ENODATA = () => Object.assign(new Error('ENODATA'), { code: 'ENODATA', errno: -constants.errno.ENODATA });

/**
 * The xattr ops of a node, as vops; a getxattr of `security.capability`
 * is answered from CapabilityAbsence while this host holds the file's
 * attr token (none: always from the store).
 */
export class XattrOps {
  private readonly caps: CapabilityAbsence | undefined;

  constructor(private readonly run: VopRunner, private readonly vops: VopBuilder, attrHold?: (node: PathNode) => EntriesHold | undefined) {
    this.caps = attrHold && new CapabilityAbsence(attrHold);
  }

  async get(node: PathNode, name: string): Promise<Buffer> {
    const caps = name === CAPABILITY_XATTR ? this.caps : undefined;
    if (caps?.known(node)) throw ENODATA();
    const before = caps?.before(node);
    try {
      return await this.run(await this.vops.onPath('getxattr', node.path, { name }));
    } catch (e) {
      if (caps && before && fuseErrnoOf(e).name === 'ENODATA') caps.noteAbsent(node, before);
      throw e;
    }
  }

  async set(node: PathNode, name: string, value: Buffer, flags: number): Promise<void> {
    await this.changing(node, name, async () => { await this.run(await this.vops.onPath('setxattr', node.path, { name, value, flags })); });
  }

  async remove(node: PathNode, name: string): Promise<void> {
    await this.changing(node, name, async () => { await this.run(await this.vops.onPath('removexattr', node.path, { name })); });
  }

  private async changing(node: PathNode, name: string, change: () => Promise<void>): Promise<void> {
    const caps = name === CAPABILITY_XATTR ? this.caps : undefined;
    caps?.forget(node);
    try {
      await change();
    } finally {
      caps?.forget(node);
    }
  }
}
