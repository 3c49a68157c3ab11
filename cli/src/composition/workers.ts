import type { WorkerHealth } from '@registo/messaging';
import type { WorkerDown } from '@registo/gateways';

/** Something a role keeps running: readiness shows its `describe()`, and its health when supervised. */
export interface Worker {
  name: string;
  stop(): Promise<void>;
  describe(): Record<string, unknown>;
  /** Supervised workers: their state, for readiness. */
  health?: () => WorkerHealth;
}

/**
 * The platform's running workers. They stop together (each consumer leaves its group at the
 * same time, as before), as one entry of the disposal stack registered before the first starts.
 */
export class Workers {
  private readonly running: Worker[] = [];

  add(worker: Worker): void {
    this.running.push(worker);
  }

  list(): readonly Worker[] {
    return this.running;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.running.splice(0).map((w) => w.stop()));
  }

  /** Workers that are restarting or failed, for /readyz. */
  down(): WorkerDown[] {
    return this.running.flatMap((w) => {
      const h = w.health?.();
      return h && (h.state === 'restarting' || h.state === 'failed') ? [{ name: w.name, state: h.state, ...(h.lastError && { cause: h.lastError.code }) }] : [];
    });
  }
}
