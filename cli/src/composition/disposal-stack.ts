/**
 * Everything start-up acquires, released in reverse order. Start-up registers each resource the
 * moment it has it, so a step that fails (a port taken, a key that does not open the stored keys,
 * a missing token) releases all that came before it, and `close()` is the same walk.
 */
export class DisposalStack {
  private readonly releases: { name: string; release: () => unknown }[] = [];
  private disposing: Promise<void> | undefined;
  private readonly failures: { name: string; error: unknown }[] = [];

  /** Registers how to release what was just acquired; returns it, for `const x = stack.use(...)`. */
  use<T>(name: string, resource: T, release: (resource: T) => unknown): T {
    this.defer(name, () => release(resource));
    return resource;
  }

  defer(name: string, release: () => unknown): void {
    if (this.disposing) throw new Error(`${name} acquired while the platform is being released`);
    this.releases.push({ name, release });
  }

  /**
   * Releases everything, last acquired first; a release that fails does not stop the others.
   * Idempotent. Resolves with the failures (name and error), for the caller to log.
   */
  dispose(): Promise<{ name: string; error: unknown }[]> {
    this.disposing ??= (async () => {
      for (const { name, release } of this.releases.splice(0).reverse()) {
        try {
          await release();
        } catch (error) {
          this.failures.push({ name, error });
        }
      }
    })();
    return this.disposing.then(() => [...this.failures]);
  }
}
