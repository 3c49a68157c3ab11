import type { EventEnvelope, EventOf, NewEvent } from '@registo/schemas';
import { RegistoError } from '@registo/schemas';

/** An event as a decider sees it: its type and data, plus the envelope when it came from the store. */
export type DeciderEvent<M> = { [K in keyof M & string]: { type: K; data: M[K] } }[keyof M & string];

/** What every event map holds: each type's data is a record (the store keeps JSON objects). */
export type EventDataShape<M> = { [K in keyof M]: Record<string, unknown> };

/**
 * Pure domain logic for one stream category (Emmett-style): `decide` turns a command and the
 * current state into new events (or throws CommandRejected), `evolve` folds one event into the
 * state. No I/O: the command handler loads, folds, decides and appends.
 */
export interface Decider<Command, State, EventMap> {
  /**
   * Whether a stored event is one this decider folds, checked at run time (its type in the
   * catalog under the category, its data valid for the schema): reads of its streams are typed by it.
   */
  readonly accepts: (event: EventEnvelope) => event is EventEnvelope & EventOf<EventMap>;
  initialState(): State;
  decide(command: Command, state: State): Array<DeciderEvent<EventMap>>;
  evolve(state: State, event: DeciderEvent<EventMap>): State;
}

/** A command that the current state does not allow. */
export class CommandRejected extends RegistoError {
  constructor(reason: string, message: string, details: Record<string, unknown> = {}) {
    super('COMMAND_REJECTED', message, { reason, ...details });
    this.name = 'CommandRejected';
  }

  get reason(): string {
    return this.details.reason as string;
  }
}

export function reject(reason: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CommandRejected(reason, message, details);
}

/** Folds events (typed reads of the decider's streams, or events it decided) into state. */
export function fold<Command, State, EventMap>(decider: Decider<Command, State, EventMap>, events: Iterable<DeciderEvent<EventMap>>): State {
  let state = decider.initialState();
  for (const e of events) state = decider.evolve(state, e);
  return state;
}

/** Turns decided events into store input, stamping the caller's metadata on each. */
export function toNewEvents<EventMap extends EventDataShape<EventMap>>(
  events: ReadonlyArray<DeciderEvent<EventMap>>,
  metadata: NewEvent['metadata'] | undefined,
): NewEvent[] {
  return events.map((e) => ({ type: e.type, data: e.data, ...(metadata ? { metadata } : {}) }));
}
