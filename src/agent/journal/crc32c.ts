import { existsSync } from 'fs';
import * as nodePath from 'path';

interface CrcAddon {
  crc32c(data: Buffer, previous?: number): number;
  crc32cPortable(data: Buffer, previous?: number): number;
}

let loaded: CrcAddon | null = null;

/** Loads build/Release/coherd_crc.node (built by node-gyp with the FUSE addon), searching up from this file. */
function addon(): CrcAddon {
  if (loaded) return loaded;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = nodePath.join(dir, 'build', 'Release', 'coherd_crc.node');
    if (existsSync(candidate)) {
      loaded = require(candidate) as CrcAddon;
      return loaded;
    }
    dir = nodePath.dirname(dir);
  }
  throw new Error('coherd_crc.node not built: run `npm ci` (node-gyp rebuild --nodedir=/usr)');
}

/** CRC-32C of `data`, continuing `previous` (0 to start), as zlib's crc32(crc, buf) does. */
export function crc32c(data: Buffer, previous = 0): number {
  return addon().crc32c(data, previous);
}

/** The same sum by the table fallback, whatever the CPU has (tests check the SSE4.2 path against it). */
export function crc32cPortable(data: Buffer, previous = 0): number {
  return addon().crc32cPortable(data, previous);
}
