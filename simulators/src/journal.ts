import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegistoError } from '@registo/schemas';

/**
 * An append-only journal of one simulator's state changes, one JSON object a line, so that a
 * simulator keeps what it was told across restarts as the system it stands in for would.
 *
 * A change is acknowledged only once its line is on disk (`saved()` after fdatasync): the
 * platform records a sync as SUCCEEDED, or an identification's answer, only when the simulator
 * would still know it after a crash. Lines queued while a write is in flight go in the next
 * write together (one fdatasync for many changes), so a busy simulator is not slowed to one
 * disk flush per request.
 *
 * A crash can leave the last line half written: everything after the last newline was never
 * acknowledged, so it is dropped (and cut from the file) on open. A complete line that cannot
 * be read is damage, not a crash: opening fails with SIMULATOR_STATE_UNREADABLE naming the file
 * and line, never its content (which may hold names, dates of birth, templates).
 */

export type JournalEntry = { op: string } & Record<string, unknown>;

const NEWLINE = 0x0a;

/** The typed refusal for a journal line that cannot be replayed. */
export function unreadableState(file: string, line: number, reason: string): RegistoError {
  return new RegistoError(
    'SIMULATOR_STATE_UNREADABLE',
    `simulator state ${file} cannot be read at line ${line} (${reason}): restore the file, or move it aside to start this simulator empty`,
    { file, line },
  );
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Journal {
  private queue: string[] = [];
  private appended = 0;
  private durable = 0;
  private writing = false;
  private failure: Error | null = null;
  private waiters: Waiter[] = [];
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  /**
   * Replays every complete line into `apply` (in order), then opens the file for appending.
   * `apply` throws to say a line is not an entry it understands; that, or a line that is not a
   * JSON object with an `op`, fails with SIMULATOR_STATE_UNREADABLE.
   */
  static async open(file: string, apply: (entry: JournalEntry) => void): Promise<Journal> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      bytes = Buffer.alloc(0);
    }
    const complete = bytes.lastIndexOf(NEWLINE) + 1;
    const lines = bytes.subarray(0, complete).toString('utf8').split('\n').slice(0, -1);
    lines.forEach((text, i) => {
      if (text.trim() === '') return;
      let entry: unknown;
      try {
        entry = JSON.parse(text);
      } catch {
        throw unreadableState(file, i + 1, 'not JSON');
      }
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || typeof (entry as JournalEntry).op !== 'string') {
        throw unreadableState(file, i + 1, 'not a journal entry');
      }
      try {
        apply(entry as JournalEntry);
      } catch (e) {
        if (e instanceof RegistoError) throw e;
        throw unreadableState(file, i + 1, 'not an entry this simulator understands');
      }
    });
    // The torn tail of a write cut short: never acknowledged, so never part of the state.
    if (complete < bytes.length) await truncate(file, complete);
    const handle = await open(file, 'a', 0o600);
    if (bytes.length === 0) {
      // A new file: make its directory entry durable too, or a crash could lose the whole file.
      const dir = await open(dirname(file), 'r');
      await dir.sync().finally(() => dir.close());
    }
    return new Journal(file, handle);
  }

  /** Queues one entry; it is durable once a later `saved()` resolves. */
  append(entry: JournalEntry): void {
    if (this.closed) throw new Error(`journal ${this.file} is closed`);
    this.queue.push(`${JSON.stringify(entry)}\n`);
    this.appended++;
    if (!this.writing) void this.drain();
  }

  /** Resolves when every entry appended so far is on disk; rejects when writing failed. */
  saved(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durable >= this.appended) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.appended, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.saved().catch(() => undefined);
    await this.handle.close();
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        this.queue = [];
        await this.handle.appendFile(batch.join(''));
        await this.handle.datasync();
        this.durable += batch.length;
        this.waiters = this.waiters.filter((w) => (w.upTo <= this.durable ? (w.resolve(), false) : true));
      }
    } catch (e) {
      // The memory is now ahead of the disk: refuse every acknowledgement from here on.
      this.failure = new Error(`simulator state ${this.file} could not be written: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      for (const w of this.waiters) w.reject(this.failure);
      this.waiters = [];
    } finally {
      this.writing = false;
    }
  }
}
