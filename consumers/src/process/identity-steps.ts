import {
  type EnrollmentState,
  type IdentityRecord,
  type LoadedIdentity,
  type UpdateTargetRefusal,
  anchorChangeApproved,
  abisHandedToOfficer,
  abisUnavailableReasons,
  changedFields,
  createIdentityWithNewUin,
  enrollmentDecider,
  fold,
  identityRecordOf,
  keyedDigitSourceWith,
  loadIdentity,
  updateIdentityFromEnrollment,
  updateTargetRefusal,
} from '@registo/producers';
import { type BiometricVerdict, type EventEnvelope, type PacketType, isRegistoError } from '@registo/schemas';
import { pendingCandidate } from './dedup-claims.js';
import { manualDedupAdjudicationId } from './enrollment-process.js';
import { type StepContext, type Submission, command, personKeyOf, processMetadata } from './step-context.js';

/**
 * The steps that find, create or update the identity an enrollment is for: de-duplication
 * (demographic claim, then the ABIS), the 1:1 check of an update's claim, allocating a new
 * identity, updating the one named.
 */

export async function deduplicate(ctx: StepContext, event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission, delivery: number): Promise<void> {
  const { deps, claims } = ctx;
  const { history, personal } = submission;
  const data = await personal();
  if (state.packetType !== 'NEW') {
    const refusal = updateTargetRefusal(state.packetType, data.uin);
    if (refusal) return reject(ctx, event, regId, refusal);
    return updateIdentity(ctx, event, regId, data.uin!, submission);
  }
  // Already found a possible duplicate (this is a redelivery): the officer has the case. Asking
  // again could name the same person differently — by now under their UIN rather than their
  // pending enrollment — and add a second suspicion to a case already queued.
  if (fold(enrollmentDecider, history).suspectedDuplicates.length > 0) return;
  const personKey = await personKeyOf(ctx, state.residency!, data.demographics);
  if (personKey) {
    const holder = await claims.claim(personKey, regId);
    if (holder !== regId) {
      const candidateUin = (await claims.uinOf(holder)) ?? pendingCandidate(holder);
      return command(ctx, event, { type: 'SuspectDuplicate', regId, candidateUin, method: 'DEMOGRAPHIC', score: 1 }, history);
    }
  }
  let matches: Array<{ referenceId: string; score: number }>;
  try {
    ({ matches } = await deps.abis.identify({ referenceId: regId, biometrics: data.biometrics }, { idempotencyKey: regId }));
  } catch (e) {
    // The ABIS down, slow or answering nonsense: the consumer delivers the event again after
    // a pause; once those deliveries are spent, an officer checks the biometrics by hand.
    if (!isRegistoError(e) || !e.code.startsWith('EXTERNAL_') || !abisHandedToOfficer(delivery, deps.abisAttempts)) throw e;
    deps.logger?.warn({ regId, code: e.code, delivery }, 'ABIS unavailable; handing the enrollment to an officer');
    return command(ctx, event, { type: 'RequestAdjudication', regId, adjudicationId: manualDedupAdjudicationId(regId), reasons: abisUnavailableReasons(delivery) }, history);
  }
  const best = matches[0];
  if (best) {
    const candidateUin = (await claims.uinOf(best.referenceId)) ?? pendingCandidate(best.referenceId);
    return command(ctx, event, { type: 'SuspectDuplicate', regId, candidateUin, method: 'BIOMETRIC', score: best.score }, history);
  }
  return allocateIdentity(ctx, event, regId, state, submission);
}

/**
 * Gathers what the enrollment decider needs to judge a packet's claim to be the identity it
 * names: the ABIS's 1:1 verdict against the identity's enrolled references and the blind
 * indexes of both numbers. The decider says whether the claim holds.
 */
export async function checkIdentityClaim(ctx: StepContext, event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission, delivery: number): Promise<void> {
  const { deps } = ctx;
  // Checked already (a redelivery): the decider would decide nothing, so the ABIS is not asked again.
  if (fold(enrollmentDecider, submission.history).claim) return;
  const data = await submission.personal();
  const target = await openTarget(ctx, event, regId, state.packetType, data.uin);
  if (!target) return;
  const { uin, loaded: { state: identity }, record } = target;
  let biometric: BiometricVerdict;
  let score: number | null = null;
  try {
    // The identity's enrollments are its references in the ABIS (those it never held are ignored).
    const verified = await deps.abis.verify({ referenceIds: identity.regIds, biometrics: data.biometrics }, { idempotencyKey: event.eventId });
    ({ outcome: biometric, score } = verified);
  } catch (e) {
    // As for identification: the consumer's redeliveries first, then an officer compares by hand.
    if (!isRegistoError(e) || !e.code.startsWith('EXTERNAL_') || !abisHandedToOfficer(delivery, deps.abisAttempts)) throw e;
    deps.logger?.warn({ regId, code: e.code, delivery }, 'ABIS unavailable for a 1:1 verification; handing the enrollment to an officer');
    biometric = 'UNAVAILABLE';
  }
  const packetAnchorIndex = await personKeyOf(ctx, state.residency!, data.demographics);
  const identityAnchorIndex = await personKeyOf(ctx, identity.residency!, record.demographics);
  await command(ctx, event, { type: 'CheckIdentityClaim', regId, uin, biometric, score, packetAnchorIndex, identityAnchorIndex }, submission.history);
}

export async function allocateIdentity(ctx: StepContext, event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission): Promise<void> {
  const { deps, claims } = ctx;
  const sealedIn = submission.sealed;
  const data = await submission.personal();
  // The identity keeps the enrollment's subject: one key opens (and erasure closes) both.
  const sealed = await deps.sealer.seal(sealedIn.subjectId, identityRecordOf(data));
  const personKey = await personKeyOf(ctx, state.residency!, data.demographics);
  const citizen = state.residency === 'CITIZEN';
  const { uin } = await createIdentityWithNewUin(
    deps.store,
    { regId, residency: state.residency!, sealed, civilRegistryIndex: citizen ? personKey : null, permitIndex: citizen ? null : personKey },
    { draw: await keyedDigitSourceWith(deps.uinKey, regId), ...(deps.uinPolicy && { policy: deps.uinPolicy }), metadata: processMetadata(event) },
  );
  await claims.recordUin(regId, uin);
  await command(ctx, event, { type: 'ApproveEnrollment', regId, uin }, submission.history);
}

export async function updateIdentity(ctx: StepContext, event: EventEnvelope, regId: string, uin: string, submission: Submission): Promise<void> {
  const { deps, claims } = ctx;
  const data = await submission.personal();
  const state = fold(enrollmentDecider, submission.history);
  const target = await openTarget(ctx, event, regId, state.packetType, uin);
  if (!target) return;
  const { subjectId } = target.loaded;
  const before = target.record;
  const sealed = await deps.sealer.seal(subjectId, identityRecordOf(data));
  const personKey = await personKeyOf(ctx, state.residency!, data.demographics);
  const citizen = state.residency === 'CITIZEN';
  const { refused } = await updateIdentityFromEnrollment(
    deps.store,
    {
      type: 'UpdateIdentity',
      uin,
      regId,
      changedFields: changedFields(before.demographics, data.demographics),
      sealed,
      civilRegistryIndex: citizen ? personKey : null,
      permitIndex: citizen ? null : personKey,
      anchorChangeApproved: anchorChangeApproved(state),
    },
    processMetadata(event),
  );
  if (refused) return command(ctx, event, { type: 'RejectEnrollment', regId, code: refused.reason, reason: refused.message });
  await claims.recordUin(regId, uin);
  // A corrected number is this identity's key from now on: a newcomer with it is its duplicate.
  if (personKey) await claims.claim(personKey, regId);
  await command(ctx, event, { type: 'ApproveEnrollment', regId, uin }, submission.history);
}

function reject(ctx: StepContext, event: EventEnvelope, regId: string, refusal: UpdateTargetRefusal): Promise<void> {
  return command(ctx, event, { type: 'RejectEnrollment', regId, code: refusal.code, reason: refusal.reason });
}

/**
 * The identity an update packet names, with its record opened; null once the enrollment has
 * been rejected because the packet rules say it cannot be updated (no UIN, no such identity, erased).
 */
async function openTarget(ctx: StepContext, event: EventEnvelope, regId: string, packetType: PacketType | null, uin: string | undefined): Promise<{ uin: string; loaded: LoadedIdentity; record: IdentityRecord } | null> {
  const refuse = async (refusal: UpdateTargetRefusal | null): Promise<null> => {
    if (refusal) await reject(ctx, event, regId, refusal);
    return null;
  };
  if (!uin) return refuse(updateTargetRefusal(packetType, uin));
  const loaded = await loadIdentity(ctx.deps, uin);
  if (!loaded) return refuse(updateTargetRefusal(packetType, uin, null));
  const opened = await loaded.openRecord();
  if (opened.erased) return refuse(updateTargetRefusal(packetType, uin, opened));
  return { uin, loaded, record: opened.record };
}
