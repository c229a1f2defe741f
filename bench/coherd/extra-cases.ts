import type { BenchCase, BenchContext } from '../types';
import { failoverCase } from './failover-case';
import { hostileCase } from './hostile-case';
import { logFollowCase } from './log-follow-case';
import { revokeCase } from './revoke-case';
import { scaleCase } from './scale-case';
import { tokenHitCase } from './token-hit-case';

/** coherd-only cases (plugins.ts `extraCases`): P4, P5, P7, P8, P9, P10. */
export function coherdExtraCases(_ctx: BenchContext): BenchCase[] {
  return [tokenHitCase(), revokeCase(), failoverCase(), scaleCase(), logFollowCase(), hostileCase()];
}
