import type { OutsideWorldHandler } from '@registo/messaging';
import { type EnrollmentState, enrollmentDecider, fold, readStreamOf } from '@registo/producers';
import { type EventEnvelope, expectEventOf } from '@registo/schemas';
import { DedupClaims } from './dedup-claims.js';
import { DEFAULT_PROCESS_POLICY, type ProcessAction, nextActions } from './enrollment-process.js';
import { verifyExternally } from './external-checks.js';
import { allocateIdentity, checkIdentityClaim, deduplicate, updateIdentity } from './identity-steps.js';
import { type EnrollmentProcessDeps, type StepContext, type StoredEnrollmentEvent, type Submission, command, submissionOf } from './step-context.js';

export type { EnrollmentProcessDeps } from './step-context.js';

export interface EnrollmentProcess extends OutsideWorldHandler {
  migrate(): Promise<void>;
}

/**
 * Performs what `nextActions` decides, for each enrollment event: commands go to the
 * deciders, the rest ask the outside world (SIGA, Immigration, the ABIS) and come back as
 * commands. Every step may run twice (at-least-once delivery, a crash in the middle): the
 * deciders refuse what is already done, external calls carry the event id as idempotency
 * key, the ABIS answers a reference id the same way twice, and the UIN is drawn from a
 * sequence keyed by the registration id. The steps are in external-checks.ts and identity-steps.ts.
 */
export function createEnrollmentProcess(deps: EnrollmentProcessDeps): EnrollmentProcess {
  const ctx: StepContext = {
    deps,
    claims: new DedupClaims(deps.db),
    backoff: deps.backoffMs ?? ((attempt: number) => Math.min(5_000, 250 * 2 ** (attempt - 2))),
  };
  const policy = deps.policy ?? DEFAULT_PROCESS_POLICY;
  return {
    name: 'enrollment_process',
    categories: ['enrollment'],
    migrate: () => ctx.claims.migrate(),
    async handle(delivered: EventEnvelope, delivery = 1): Promise<void> {
      const event = expectEventOf('enrollment', delivered);
      const history = await readStreamOf(deps.store, 'enrollment', event.streamId);
      // Decide from the state right after this event, so a redelivery asks for exactly what
      // the first delivery asked for; act on the stream as it is now.
      const state = fold(enrollmentDecider, history.slice(0, event.revision + 1));
      const actions = nextActions(state, event, policy);
      let submission: Submission | undefined;
      const { regId } = event.data;
      for (const a of actions) await perform(ctx, event, state, a, history, () => (submission ??= submissionOf(ctx, regId, history)), delivery);
    },
  };
}

/** One action of `nextActions`: a command, or the step that asks the outside world first. */
function perform(ctx: StepContext, event: EventEnvelope, state: EnrollmentState, a: ProcessAction, history: StoredEnrollmentEvent[], submission: () => Submission, delivery: number): Promise<void> {
  switch (a.kind) {
    case 'command':
      return command(ctx, event, a.command, history);
    case 'verifyExternally':
      return verifyExternally(ctx, event, a, submission());
    case 'checkIdentityClaim':
      return checkIdentityClaim(ctx, event, a.regId, state, submission(), delivery);
    case 'deduplicate':
      return deduplicate(ctx, event, a.regId, state, submission(), delivery);
    case 'allocateIdentity':
      return allocateIdentity(ctx, event, a.regId, state, submission());
    case 'updateIdentity':
      return updateIdentity(ctx, event, a.regId, a.uin, submission());
  }
}
