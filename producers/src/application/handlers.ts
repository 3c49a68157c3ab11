import { commandHandler } from '../command-handler.js';
import { credentialDecider, credentialStreamId } from '../deciders/credential.js';
import { enrollmentDecider, enrollmentStreamId } from '../deciders/enrollment.js';
import { identityDecider, identityStreamId } from '../deciders/identity.js';
import { mismatchDecider, mismatchStreamId, syncDecider, syncStreamId } from '../deciders/sync.js';

/*
 * One command handler per decider, bound once to how its streams are named. The use cases in
 * this layer are the only callers: gateways and consumers ask for a use case, never for a stream.
 */

/** An enrollment, by registration id. */
export const enrollmentHandler = commandHandler(enrollmentDecider, enrollmentStreamId);
/** An identity, by UIN. */
export const identityHandler = commandHandler(identityDecider, identityStreamId);
/** A holder's credentials, by UIN. */
export const credentialHandler = commandHandler(credentialDecider, credentialStreamId);
/** A synchronisation job, by sync id. */
export const syncHandler = commandHandler(syncDecider, syncStreamId);
/** A reconciliation mismatch, by mismatch id. */
export const mismatchHandler = commandHandler(mismatchDecider, mismatchStreamId);
