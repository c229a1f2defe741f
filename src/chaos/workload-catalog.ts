import { InvalidArgumentError } from '../common/errors';
import { AppendWorkload } from './traffic/append-workload';
import { ChurnWorkload } from './traffic/churn-workload';
import { LockWorkload } from './traffic/lock-workload';
import { RegisterWorkload } from './traffic/register-workload';
import { Workload } from './traffic/workload';

export const WORKLOAD_NAMES = ['locks', 'register', 'rmw', 'append', 'churn'] as const;

/** The --workload list → fresh workload objects. */
export function parseWorkloads(list: string): Workload[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const chosen = names.length === 1 && names[0] === 'all' ? [...WORKLOAD_NAMES] : names;
  if (chosen.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', '--workload needs at least one workload');
  return chosen.map((n) => {
    switch (n) {
      case 'locks': return new LockWorkload();
      case 'register': return new RegisterWorkload('register');
      case 'rmw': return new RegisterWorkload('rmw');
      case 'append': return new AppendWorkload();
      case 'churn': return new ChurnWorkload();
      default: throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown workload "${n}" (known: all, ${WORKLOAD_NAMES.join(', ')})`);
    }
  });
}
