import type { EventEnvelope } from '@registo/schemas';
import type { SubscriptionMessage } from './port.js';

export interface EventBatch {
  events: EventEnvelope[];
  /** The subscription reported being caught up while this batch was gathered. */
  caughtUp: boolean;
}

const LINGER_ELAPSED = Symbol('linger elapsed');

/**
 * Groups a subscription's events into batches: waits as long as needed for the first event,
 * then takes whatever else arrives within `lingerMs`, up to `max`. A `caughtUp` signal ends
 * the batch at once, so a quiet log is never waited on.
 */
export async function* inBatches(source: AsyncIterable<SubscriptionMessage>, max: number, lingerMs: number): AsyncGenerator<EventBatch> {
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<SubscriptionMessage>> | undefined;
  try {
    for (;;) {
      const batch: EventBatch = { events: [], caughtUp: false };
      let deadline = Number.POSITIVE_INFINITY;
      while (batch.events.length < max && !batch.caughtUp) {
        pending ??= it.next();
        const wait = deadline - Date.now();
        let r: IteratorResult<SubscriptionMessage> | typeof LINGER_ELAPSED;
        if (wait === Number.POSITIVE_INFINITY) r = await pending;
        else {
          let timer: NodeJS.Timeout | undefined;
          r = await Promise.race([pending, new Promise<typeof LINGER_ELAPSED>((res) => (timer = setTimeout(() => res(LINGER_ELAPSED), Math.max(0, wait))))]);
          clearTimeout(timer);
        }
        if (r === LINGER_ELAPSED) break;
        pending = undefined;
        if (r.done) {
          if (batch.events.length > 0 || batch.caughtUp) yield batch;
          return;
        }
        if (r.value.kind === 'caughtUp') batch.caughtUp = true;
        else {
          batch.events.push(r.value.event);
          if (batch.events.length === 1) deadline = Date.now() + lingerMs;
        }
      }
      yield batch;
    }
  } finally {
    await it.return?.(undefined);
  }
}
