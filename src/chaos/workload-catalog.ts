import { InvalidArgumentError } from '../common/errors';
import { AppendWorkload } from './traffic/append-workload';
import { ChurnWorkload } from './traffic/churn-workload';
import { LockWorkload } from './traffic/lock-workload';
import { NamesWorkload } from './traffic/names-workload';
import { RegisterWorkload } from './traffic/register-workload';
import { Workload } from './traffic/workload';

export const WORKLOAD_NAMES = ['locks', 'register', 'register-mmap', 'register-mmap-write', 'rmw', 'append', 'churn', 'names'] as const;

/**
 * Bugs the harness can plant (--plant), to see checkers fail end to end:
 * ignore-lease in its own lock holders; stale-names and stale-pages (two
 * names of one plant, after what each checker should see) in agent-0,
 * started with COHERD_TEST_PLANT=skip-kernel-invalidation (the kernel
 * keeps names and pages after the token went).
 */
export const PLANTS = ['ignore-lease', 'stale-names', 'stale-pages'] as const;

/** The COHERD_TEST_PLANT value agent-0 gets for the chosen plants, if any. */
export function agentPlant(plants: readonly string[]): string | undefined {
  return plants.includes('stale-names') || plants.includes('stale-pages') ? 'skip-kernel-invalidation' : undefined;
}

/** The --workload list → fresh workload objects. */
export function parseWorkloads(list: string, plants: readonly string[] = []): Workload[] {
  for (const p of plants) {
    if (!(PLANTS as readonly string[]).includes(p)) throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown --plant "${p}" (known: ${PLANTS.join(', ')})`);
  }
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  // "all" may stand beside others ("all,locks"); a workload named twice runs once.
  const chosen = [...new Set(names.flatMap((n) => (n === 'all' ? [...WORKLOAD_NAMES] : [n])))];
  if (chosen.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', '--workload needs at least one workload');
  return chosen.map((n) => {
    switch (n) {
      case 'locks': return new LockWorkload(plants.includes('ignore-lease'));
      case 'register': return new RegisterWorkload('register');
      case 'register-mmap': return new RegisterWorkload('register', 3, ['pread', 'mmap']);
      case 'register-mmap-write': return new RegisterWorkload('register', 3, ['pread', 'mmap-write']);
      case 'rmw': return new RegisterWorkload('rmw');
      case 'append': return new AppendWorkload();
      case 'churn': return new ChurnWorkload();
      case 'names': return new NamesWorkload();
      default: throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown workload "${n}" (known: all, ${WORKLOAD_NAMES.join(', ')})`);
    }
  });
}
