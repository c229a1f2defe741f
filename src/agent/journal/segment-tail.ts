import { promises as fsp } from 'fs';
import { Logger } from '../../common/logger';
import { decodeRecord } from './journal-codec';

/**
 * Finds the last record of a segment when the agent starts. A last line
 * without its newline is a write torn by a crash (it was never fsync'ed, so
 * no application was told it was durable): it is cut off, logged, and the
 * sequence continues after the last whole record. A bad record before the
 * end is left in place (a replica reports it and stops that stream).
 */
export async function scanSegmentTail(path: string, logger: Logger): Promise<{ lastSequence: number }> {
  const data = await fsp.readFile(path);
  const end = data.lastIndexOf(0x0a) + 1;
  if (end < data.length) {
    logger.warn('journal torn tail dropped', { path, bytes: data.length - end });
    await fsp.truncate(path, end);
  }
  let lastSequence = 0;
  let start = 0;
  while (start < end) {
    const nl = data.indexOf(0x0a, start);
    const decoded = decodeRecord(data.subarray(start, nl).toString('utf8'));
    if ('record' in decoded) lastSequence = decoded.record.sequence;
    else logger.error('journal record corrupt', { path, offset: start, error: decoded.error });
    start = nl + 1;
  }
  return { lastSequence };
}
