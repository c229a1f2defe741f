import { loadNativeAddon } from '../../common/native-addon';

interface CrcAddon {
  crc32c(data: Buffer, previous?: number): number;
  crc32cPortable(data: Buffer, previous?: number): number;
}

let loaded: CrcAddon | null = null;

/** Loads build/Release/coherd_crc.node (built by node-gyp with the FUSE addon). */
function addon(): CrcAddon {
  loaded ??= loadNativeAddon<CrcAddon>('coherd_crc.node');
  return loaded;
}

/** CRC-32C of `data`, continuing `previous` (0 to start), as zlib's crc32(crc, buf) does. */
export function crc32c(data: Buffer, previous = 0): number {
  return addon().crc32c(data, previous);
}

/** The same sum by the table fallback, whatever the CPU has (tests check the SSE4.2 path against it). */
export function crc32cPortable(data: Buffer, previous = 0): number {
  return addon().crc32cPortable(data, previous);
}
