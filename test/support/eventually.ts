/** Polls `check` every pollMs until it passes or timeoutMs elapsed (then rethrows its last error). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
