import type { EventStore, ReadStreamOptions } from '@registo/event-store';
import { type CategoryEvent, type EventCategory, type EventEnvelope, eventGuard, notOfCategory } from '@registo/schemas';

/**
 * Reads a stream and checks every event with `accepts` (see isEventOf): the events come back
 * typed, and one that is not what the reader expects (`expected` names it in the error) throws
 * EVENT_NOT_OF_CATEGORY rather than reaching code that would misread it.
 */
export async function readStreamWith<E>(
  store: Pick<EventStore, 'readStream'>,
  streamId: string,
  accepts: (event: EventEnvelope) => event is EventEnvelope & E,
  expected: string,
  options?: ReadStreamOptions,
): Promise<E[]> {
  return checkedEvents(await store.readStream(streamId, options), accepts, expected);
}

/** The events of one stream of a category, typed by the category's event map (see readStreamWith). */
export function readStreamOf<C extends EventCategory>(
  store: Pick<EventStore, 'readStream'>,
  category: C,
  streamId: string,
  options?: ReadStreamOptions,
): Promise<Array<CategoryEvent<C>>> {
  return readStreamWith(store, streamId, eventGuard(category), category, options);
}

/** Events already read, checked and typed as readStreamWith does. */
export function checkedEvents<E>(events: readonly EventEnvelope[], accepts: (event: EventEnvelope) => event is EventEnvelope & E, expected: string): E[] {
  const out: E[] = [];
  for (const e of events) {
    if (!accepts(e)) throw notOfCategory(expected, e, 'its type or data is not one this read accepts');
    out.push(e);
  }
  return out;
}
