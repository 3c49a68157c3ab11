import type { EventOf, NewEvent } from '@registo/schemas';
import { RegistoError, WrongExpectedRevisionError, parseStreamId } from '@registo/schemas';
import type { EventStore } from '@registo/event-store';
import { type Decider, type EventDataShape, fold, toNewEvents } from './decider.js';
import { checkedEvents, readStreamWith } from './typed-read.js';

export interface HandleOptions<EventMap = Record<string, Record<string, unknown>>> {
  /** Re-load, re-decide and re-append this many times after losing a race (default 3). */
  maxRetries?: number;
  metadata?: NewEvent['metadata'];
  /**
   * The stream as the caller has just read it: the first decision is taken on it instead of
   * reading again. Safe even if it is stale: the append then fails on the revision and the
   * stream is read afresh, as after any lost race.
   */
  history?: ReadonlyArray<EventOf<EventMap>>;
}

export interface HandleResult<State, EventMap = Record<string, Record<string, unknown>>> {
  state: State;
  /** The events this command appended (empty when the decider decided nothing). */
  events: Array<EventOf<EventMap>>;
  nextExpectedRevision: number;
  attempts: number;
}

/**
 * Load the stream, fold it with `evolve`, `decide`, append with the revision just read as
 * the expected one. Losing the race to another writer means the decision was made on stale
 * state: take it again on fresh state, a bounded number of times.
 */
export async function handleCommand<Command, State, EventMap extends EventDataShape<EventMap>>(
  store: EventStore,
  decider: Decider<Command, State, EventMap>,
  streamId: string,
  command: Command,
  options: HandleOptions<EventMap> = {},
): Promise<HandleResult<State, EventMap>> {
  const maxRetries = options.maxRetries ?? 3;
  const expected = parseStreamId(streamId).category;
  for (let attempt = 1; ; attempt++) {
    const history = attempt === 1 && options.history ? options.history : await readStreamWith(store, streamId, decider.accepts, expected);
    let state = fold(decider, history);
    const revision = history.length === 0 ? -1 : history[history.length - 1]!.revision;
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, events: [], nextExpectedRevision: revision, attempts: attempt };
    try {
      const result = await store.append(streamId, toNewEvents(decided, options.metadata), {
        expectedRevision: revision < 0 ? 'no_stream' : revision,
      });
      for (const e of decided) state = decider.evolve(state, e);
      return { state, events: checkedEvents(result.events, decider.accepts, expected), nextExpectedRevision: result.nextExpectedRevision, attempts: attempt };
    } catch (e) {
      if (!(e instanceof WrongExpectedRevisionError)) throw e;
      if (attempt > maxRetries) {
        if (maxRetries === 0) throw e;
        throw new RegistoError('COMMAND_RETRIES_EXHAUSTED', `${streamId}: still conflicting after ${attempt} attempts`, {
          streamId,
          attempts: attempt,
          actual: e.actual,
        });
      }
    }
  }
}

/** A decider's command handler bound to its stream naming: callers name the aggregate, not the stream. */
export type CommandHandler<Id, Command, State, EventMap> = (
  store: EventStore,
  id: Id,
  command: Command,
  options?: HandleOptions<EventMap>,
) => Promise<HandleResult<State, EventMap>>;

/**
 * Binds `handleCommand` to one decider and the way its streams are named, once per category
 * (as Emmett's `CommandHandler({ evolve, initialState })`): the use cases then say
 * `enrollmentHandler(store, regId, command)` and never build a stream id themselves.
 */
export function commandHandler<Id, Command, State, EventMap extends EventDataShape<EventMap>>(
  decider: Decider<Command, State, EventMap>,
  streamIdOf: (id: Id) => string,
): CommandHandler<Id, Command, State, EventMap> {
  return (store, id, command, options) => handleCommand(store, decider, streamIdOf(id), command, options);
}
