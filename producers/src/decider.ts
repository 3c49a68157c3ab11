import type { EventEnvelope, NewEvent } from '@registo/schemas';
import { RegistoError } from '@registo/schemas';

/** An event as a decider sees it: its type and data, plus the envelope when it came from the store. */
export type DeciderEvent<M> = { [K in keyof M & string]: { type: K; data: M[K] } }[keyof M & string];

/**
 * Pure domain logic for one stream category (Emmett-style): `decide` turns a command and the
 * current state into new events (or throws CommandRejected), `evolve` folds one event into the
 * state. No I/O: the command handler loads, folds, decides and appends.
 */
export interface Decider<Command, State, EventMap> {
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

/** Folds stored events into state. */
export function fold<State, EventMap>(
  decider: Decider<unknown, State, EventMap>,
  events: readonly EventEnvelope[],
): State {
  let state = decider.initialState();
  for (const e of events) state = decider.evolve(state, { type: e.type, data: e.data } as DeciderEvent<EventMap>);
  return state;
}

/** Turns decided events into store input, stamping the caller's metadata on each. */
export function toNewEvents<EventMap>(
  events: ReadonlyArray<DeciderEvent<EventMap>>,
  metadata: NewEvent['metadata'] | undefined,
): NewEvent[] {
  return events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, ...(metadata ? { metadata } : {}) }));
}
