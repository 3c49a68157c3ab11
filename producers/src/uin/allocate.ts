import type { EventStore } from '@registo/event-store';
import { type IdentityEventData, isRegistoError } from '@registo/schemas';
import type { HandleOptions, HandleResult } from '../command-handler.js';
import type { IdentityState } from '../deciders/identity.js';
import { identityHandler } from '../application/handlers.js';
import { type DigitSource, generateUin } from './generator.js';
import { DEFAULT_UIN_POLICY, type UinPolicy } from './rules.js';

export interface AllocateOptions extends HandleOptions<IdentityEventData> {
  policy?: UinPolicy;
  draw?: DigitSource;
  /** Fresh numbers to try when a drawn one is taken. */
  maxCollisions?: number;
}

/**
 * Creates an identity under a new UIN. Uniqueness is by construction: the identity is the
 * first event of stream `identity-<uin>`, appended only if that stream does not exist, so
 * two enrollments can never share a number; a collision just draws another. With
 * `keyedDigitSource(key, regId)` as `draw`, retrying after a crash returns the identity the
 * first attempt created (`events` empty) instead of creating a second one.
 */
export async function createIdentityWithNewUin(
  store: EventStore,
  data: Omit<IdentityEventData['IdentityCreated'], 'uin'>,
  options: AllocateOptions = {},
): Promise<HandleResult<IdentityState, IdentityEventData> & { uin: string; collisions: number }> {
  const maxCollisions = options.maxCollisions ?? 20;
  for (let collisions = 0; ; collisions++) {
    const uin = generateUin(options.policy ?? DEFAULT_UIN_POLICY, options.draw);
    try {
      // Losing the append race is not "taken": the winner may be this same enrollment (two
      // deliveries allocating at once), so the stream is read again and the decider says
      // whether the number is ours (no events) or someone else's (IDENTITY_EXISTS).
      const result = await identityHandler(store, uin, { type: 'CreateIdentity', uin, ...data }, { ...options, maxRetries: Math.max(1, options.maxRetries ?? 1) });
      // No events: this enrollment created this identity before (a retried allocation with a
      // keyed digit source walks the same numbers) — the same answer again, nothing new.
      return { ...result, uin, collisions };
    } catch (e) {
      const taken = isRegistoError(e, 'COMMAND_REJECTED') && e.details.reason === 'IDENTITY_EXISTS';
      if (!taken || collisions >= maxCollisions) throw e;
    }
  }
}
