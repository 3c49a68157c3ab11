import type { EventStore } from '@registo/event-store';
import { inBatches } from '@registo/event-store';
import { type Delivery, type EventSource, type SourceSpec, coordinateKey } from './source.js';

export const STORE_SOURCE = '$all';

/** The embedded form: the event store's ordered subscription, offsets are positions. */
export class StoreEventSource implements EventSource {
  readonly kind = 'store' as const;
  private close: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly options: { batchSize?: number; lingerMs?: number } = {},
  ) {}

  async run(spec: SourceSpec): Promise<void> {
    const offsets = await spec.resumeFrom();
    // stop() may come while we were still reading offsets: then there is nothing to run.
    if (this.stopped) return;
    const from = (offsets.get(coordinateKey({ source: STORE_SOURCE, partition: 0 })) ?? 0) + 1;
    const sub = this.store.subscribe({ fromPosition: from, filter: { categories: spec.categories }, batchSize: this.options.batchSize ?? 500 });
    this.close = () => sub.close();
    for await (const batch of inBatches(sub, this.options.batchSize ?? 500, this.options.lingerMs ?? 2)) {
      if (batch.events.length === 0) continue;
      const deliveries: Delivery[] = batch.events.map((event) => ({
        kind: 'event',
        event,
        coordinates: { source: STORE_SOURCE, partition: 0, offset: event.position },
      }));
      await spec.handle(deliveries);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.close?.();
  }
}
