import { InvalidArgumentError } from '../../common/errors';
import { clockSkew } from './clock-skew';
import { Fault } from './fault';
import { partitionAgent, partitionCoordinatorEtcd, partitionLockClient } from './network-faults';
import { killAgent, killEtcd, killLeader, pauseAgent, restartEtcd } from './process-faults';
import { slowStore } from './slow-store';

/** Every fault kind by name (the --faults list). */
export const FAULTS: readonly Fault[] = [killAgent, pauseAgent, killLeader, killEtcd, restartEtcd, partitionAgent, partitionLockClient, partitionCoordinatorEtcd, clockSkew, slowStore];

export function parseFaults(list: string): Fault[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return [...FAULTS];
  if (names.length === 1 && names[0] === 'none') return [];
  return names.map((n) => {
    const f = FAULTS.find((x) => x.name === n);
    if (!f) throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown fault "${n}" (known: all, none, ${FAULTS.map((x) => x.name).join(', ')})`);
    return f;
  });
}
