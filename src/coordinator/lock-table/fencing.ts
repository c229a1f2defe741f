import { InvalidArgumentError } from '../../common/errors';
import { FencingToken } from './types';

/**
 * Fencing tokens (DESIGN §3.6): (epoch, counter), compared epoch first.
 * Every grant and every upgrading conversion takes the next one, so tokens
 * strictly increase table-wide, hence between any two conflicting grants.
 * A new leader's epoch is larger than any earlier one, so restarting the
 * counter at 0 keeps them increasing across failovers.
 */
export class Fencing {
  private counter = 0;

  constructor(private epoch: number) {}

  next(): FencingToken {
    return { epoch: this.epoch, counter: ++this.counter };
  }

  currentEpoch(): number {
    return this.epoch;
  }

  setEpoch(epoch: number): void {
    if (epoch < this.epoch) throw new InvalidArgumentError('INVALID_ARGUMENT', 'epoch must not decrease', { epoch, current: this.epoch });
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.counter = 0;
    }
  }

  /** A reclaimed token of this epoch: later grants must still get larger ones. */
  observe(token: FencingToken): void {
    if (token.epoch === this.epoch && token.counter > this.counter) this.counter = token.counter;
  }
}
