import { promises as fsp } from 'fs';
import { Logger } from '../../common/logger';
import { decodeAt } from './journal-codec';

/**
 * Finds the last record of a segment when the agent starts. An incomplete
 * last record is a write torn by a crash (it was never fsync'ed, so no
 * application was told it was durable): it is cut off, logged, and the
 * sequence continues after the last whole record. A bad record is left in
 * place (a replica reports it and stops that stream there).
 */
export async function scanSegmentTail(path: string, logger: Logger): Promise<{ lastSequence: number }> {
  const data = await fsp.readFile(path);
  let lastSequence = 0;
  for (let start = 0; start < data.length;) {
    const decoded = decodeAt(data, start);
    if ('incomplete' in decoded) {
      logger.warn('journal torn tail dropped', { path, bytes: data.length - start });
      await fsp.truncate(path, start);
      break;
    }
    if ('error' in decoded) {
      logger.error('journal record corrupt', { path, offset: start, error: decoded.error });
      break;
    }
    lastSequence = decoded.record.sequence;
    start += decoded.length;
  }
  return { lastSequence };
}
