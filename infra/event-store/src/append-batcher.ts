/** One stream's append as the `registo_append` SQL function takes it. */
export interface AppendPayload {
  stream: string;
  category: string;
  kind: 'any' | 'no_stream' | 'stream_exists' | 'exact';
  /** The revision the events were numbered from (-1: no stream). */
  assumed: number;
  events: Array<{
    eventId: string;
    type: string;
    schemaVersion: number;
    data: unknown;
    metadata: unknown;
    hash: string;
  }>;
}

export interface AppendOutcome {
  status: 'ok' | 'duplicate' | 'conflict' | 'stale' | 'reused';
  actualRevision: number | null;
  firstPosition: number | null;
}

interface Pending {
  payload: AppendPayload;
  resolve: (o: AppendOutcome) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  /** Most events in one database call. */
  maxEvents: number;
  /** Database calls under way at once (each holds a connection). */
  maxInFlight: number;
}

/**
 * Write combining: appends that arrive while earlier ones are in flight are sent together
 * in one call (one transaction, one commit). Because appends are serialised by the log-head
 * lock anyway, this is what lets many concurrent single-event writers reach batch speed.
 * Each append still gets its own outcome; a call that fails as a whole is retried append by
 * append so that one bad append cannot fail its neighbours.
 */
export class AppendBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly execute: (payloads: AppendPayload[]) => Promise<AppendOutcome[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(payload: AppendPayload): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ payload, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch: Pending[] = [];
      let events = 0;
      while (this.queue.length > 0) {
        const size = this.queue[0]!.payload.events.length;
        if (batch.length > 0 && events + size > this.options.maxEvents) break;
        batch.push(this.queue.shift()!);
        events += size;
      }
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await this.execute(batch.map((p) => p.payload));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
      for (const p of batch) {
        try {
          p.resolve((await this.execute([p.payload]))[0]!);
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }
}
