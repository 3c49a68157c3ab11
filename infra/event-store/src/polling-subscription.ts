import { type EventEnvelope, verifyEnvelope } from '@registo/schemas';
import type { SubscribeOptions, Subscription, SubscriptionFilter, SubscriptionMessage } from './port.js';
import type { ChangeSignal } from './sql-driver.js';

export interface PollingSource {
  /** Last committed position. Everything at or below it is visible to the next read. */
  head(): Promise<number>;
  /** Events with from <= position <= to matching the filter, in position order. */
  readRange(from: number, to: number, maxCount: number, filter: SubscriptionFilter): Promise<EventEnvelope[]>;
  readonly changes: ChangeSignal;
}

/** How long a live subscription sleeps without a notification before it looks anyway. */
const SAFETY_POLL_MS = 1000;

/**
 * Catch-up then live, over any store whose positions are gap-free in commit order: read up to
 * the head as it was a moment ago, emit `caughtUp` once, then wait for a change and repeat.
 * Reading only up to a committed head is what makes this exactly-once and in order.
 */
export function pollingSubscription(source: PollingSource, options: SubscribeOptions = {}): Subscription {
  let closed = false;
  const batchSize = options.batchSize ?? 1000;
  const filter = options.filter ?? {};
  const verify = options.verify ?? true;

  async function* run(): AsyncGenerator<SubscriptionMessage> {
    let next = Math.max(1, options.fromPosition ?? 1);
    let caughtUp = false;
    while (!closed) {
      const head = await source.head();
      while (!closed && next <= head) {
        const batch = await source.readRange(next, head, batchSize, filter);
        for (const event of batch) {
          if (closed) return;
          if (verify) verifyEnvelope(event);
          yield { kind: 'event', event };
        }
        // A short batch means nothing else matches up to head; a full one ends at its last event.
        next = batch.length < batchSize ? head + 1 : batch[batch.length - 1]!.position + 1;
      }
      if (closed) return;
      if (!caughtUp) {
        caughtUp = true;
        yield { kind: 'caughtUp', position: head };
      }
      const change = source.changes.wait(SAFETY_POLL_MS);
      if ((await source.head()) < next) await change.settled;
      else change.cancel();
    }
  }

  const iterator = run();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      closed = true;
      source.changes.notify();
      await iterator.return(undefined);
    },
  };
}
