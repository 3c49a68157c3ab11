import { statfsSync } from 'node:fs';
import { RegistoError } from '@registo/schemas';

/** Default free space kept on the embedded store's filesystem: several 16 MiB WAL segments. */
export const DEFAULT_DISK_RESERVE_BYTES = 64 * 1024 * 1024;

/** How long one look at the free space stands: writes ask often, statfs need not run each time. */
const LOOK_FOR_MS = 250;

export interface DiskSpace {
  freeBytes: number;
  reserveBytes: number;
  /** Below the reserve: the store takes no writes until space returns. */
  low: boolean;
}

/**
 * The free space an embedded store must keep on its filesystem. PGlite cannot survive a WAL
 * segment it fails to create (it spins on the event-loop thread, see docs/event-store.md), so
 * writes are refused while the free space is below the reserve, well before the engine runs out.
 */
export class DiskReserve {
  private last: { at: number; space: DiskSpace } | undefined;

  constructor(
    readonly dir: string,
    readonly reserveBytes: number = DEFAULT_DISK_RESERVE_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The free space now (at most LOOK_FOR_MS old); a filesystem statfs cannot read counts as plenty. */
  space(): DiskSpace {
    const t = this.now();
    if (this.last && t - this.last.at < LOOK_FOR_MS) return this.last.space;
    let freeBytes = Number.MAX_SAFE_INTEGER;
    try {
      const s = statfsSync(this.dir);
      freeBytes = s.bavail * s.bsize;
    } catch {
      // statfs is not everywhere; the engine's own errors still map to STORE_UNAVAILABLE.
    }
    const space = { freeBytes, reserveBytes: this.reserveBytes, low: freeBytes < this.reserveBytes };
    this.last = { at: t, space };
    return space;
  }

  /** The retryable refusal of a write while space is low (no path: the operator knows the data dir). */
  refusal(space: DiskSpace = this.space()): RegistoError {
    const mib = (n: number): string => `${Math.floor(n / 1048576)} MiB`;
    return new RegistoError(
      'STORE_UNAVAILABLE',
      `the database refuses writes: its disk is full (${mib(space.freeBytes)} free, ${mib(space.reserveBytes)} kept in reserve); free space on it, writes resume by themselves`,
      { cause: 'disk full', freeBytes: space.freeBytes, reserveBytes: space.reserveBytes },
    );
  }
}
