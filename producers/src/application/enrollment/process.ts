import type { EventStore } from '@registo/event-store';
import type { EnrollmentEventData, EventOf, NewEvent } from '@registo/schemas';
import { CommandRejected } from '../../decider.js';
import type { EnrollmentCommand } from '../../deciders/enrollment.js';
import type { IdentityCommand } from '../../deciders/identity.js';
import { enrollmentHandler, identityHandler } from '../handlers.js';

type Metadata = NewEvent['metadata'];

/**
 * A command of the enrollment process to its enrollment, decided first on the stream as the
 * delivery read it (one read less per step). A refusal is only believed on a fresh read: the
 * stream read at the start of the delivery may be behind an officer's decision. A refusal that
 * holds is returned, not thrown: the enrollment moved on (a redelivery, or an officer was
 * faster) and there is nothing left to do.
 */
export async function advanceEnrollment(
  store: EventStore,
  command: EnrollmentCommand,
  options: { metadata: Metadata; history?: ReadonlyArray<EventOf<EnrollmentEventData>> | undefined },
): Promise<{ refused: CommandRejected | null }> {
  const { metadata, history } = options;
  try {
    try {
      await enrollmentHandler(store, command.regId, command, { metadata, ...(history && { history }) });
    } catch (e) {
      if (!(e instanceof CommandRejected) || !history) throw e;
      await enrollmentHandler(store, command.regId, command, { metadata });
    }
    return { refused: null };
  } catch (e) {
    if (!(e instanceof CommandRejected)) throw e;
    return { refused: e };
  }
}

/**
 * The identity an update packet names, updated from it. The identity decider says whether the
 * update is allowed (active, anchors unchanged unless approved); its refusal is returned for the
 * process to reject the enrollment with.
 */
export async function updateIdentityFromEnrollment(
  store: EventStore,
  command: Extract<IdentityCommand, { type: 'UpdateIdentity' }>,
  metadata: Metadata,
): Promise<{ refused: CommandRejected | null }> {
  try {
    await identityHandler(store, command.uin, command, { metadata });
    return { refused: null };
  } catch (e) {
    if (!(e instanceof CommandRejected)) throw e;
    return { refused: e };
  }
}
