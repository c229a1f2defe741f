/** A bounded window of replication lag samples (ms from the op on the agent to durable on the mirror). */
export class LagSamples {
  private samples: number[] = [];

  constructor(private readonly capacity = 100_000) {}

  add(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  get count(): number {
    return this.samples.length;
  }

  /** The q-quantile (0..1) of the samples, or null if there are none. */
  quantile(q: number): number | null {
    if (this.samples.length === 0) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  reset(): void {
    this.samples = [];
  }
}
