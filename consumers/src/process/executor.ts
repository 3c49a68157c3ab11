import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import { type SubjectSealer, type MacKeyLike, blindIndexWith } from '@registo/crypto';
import type { OutsideWorldHandler } from '@registo/messaging';
import type { BiometricIdentification, CivilRegistry, ImmigrationRegistry } from '@registo/external';
import {
  type EnrollmentCommand,
  type EnrollmentPersonalData,
  type EnrollmentDemographics,
  type EnrollmentState,
  anchorChangeApproved,
  type UinPolicy,
  changedFields,
  enrollmentDecider,
  fold,
  abisHandedToOfficer,
  abisUnavailableReasons,
  advanceEnrollment,
  anchorNumberOf,
  createIdentityWithNewUin,
  immigrationCheckOutcome,
  updateIdentityFromEnrollment,
  identityRecordOf,
  keyedDigitSourceWith,
  loadIdentity,
  readStreamOf,
} from '@registo/producers';
import {
  type BiometricVerdict,
  type CategoryEvent,
  type CheckOutcome,
  type EventEnvelope,
  type EventMetadata,
  type ExternalSystem,
  type Residency,
  type SealedData,
  expectEventOf,
  isRegistoError,
} from '@registo/schemas';
import { DedupClaims, pendingCandidate } from './dedup-claims.js';
import { DEFAULT_PROCESS_POLICY, type ProcessAction, type ProcessPolicy, manualDedupAdjudicationId, nextActions } from './enrollment-process.js';

export interface EnrollmentProcessDeps {
  store: EventStore;
  /** Where the process keeps its de-duplication claims (the platform's SQL database). */
  db: SqlDriver;
  sealer: SubjectSealer;
  siga: CivilRegistry;
  immigration: ImmigrationRegistry;
  abis: BiometricIdentification;
  /** Blind-index key: the civil-registry number is searchable only through it (bytes, or the token's in qualified mode). */
  indexKey: MacKeyLike;
  /** Keys the UIN digit source per enrollment, so a retried allocation finds what it created (bytes, or the token's). */
  uinKey: MacKeyLike;
  uinPolicy?: UinPolicy;
  policy?: ProcessPolicy;
  /**
   * Deliveries of one event during which an unreachable ABIS is left to the consumer's retries
   * (default 3); on the next, the enrollment goes to an officer, as for SIGA and Immigration.
   */
  abisAttempts?: number;
  /** Wait before asking an external system again (attempt ≥ 2). */
  backoffMs?: (attempt: number) => number;
  logger?: Logger;
}

const ACTOR = { id: 'enrollment-process', role: 'system' } as const;
type StoredEnrollmentEvent = CategoryEvent<'enrollment'>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface EnrollmentProcess extends OutsideWorldHandler {
  migrate(): Promise<void>;
}

/**
 * Performs what `nextActions` decides, for each enrollment event: commands go to the
 * deciders, the rest ask the outside world (SIGA, Immigration, the ABIS) and come back as
 * commands. Every step may run twice (at-least-once delivery, a crash in the middle): the
 * deciders refuse what is already done, external calls carry the event id as idempotency
 * key, the ABIS answers a reference id the same way twice, and the UIN is drawn from a
 * sequence keyed by the registration id.
 */
export function createEnrollmentProcess(deps: EnrollmentProcessDeps): EnrollmentProcess {
  const claims = new DedupClaims(deps.db);
  const policy = deps.policy ?? DEFAULT_PROCESS_POLICY;
  const backoff = deps.backoffMs ?? ((attempt: number) => Math.min(5_000, 250 * 2 ** (attempt - 2)));

  /**
   * Sends a command to the enrollment, deciding first on the stream as this delivery read it
   * (one read less per step). A refusal is only believed on a fresh read: the stream read at
   * the start of the delivery may be behind an officer's decision.
   */
  async function command(event: EventEnvelope, cmd: EnrollmentCommand, history?: StoredEnrollmentEvent[]): Promise<void> {
    const { refused } = await advanceEnrollment(deps.store, cmd, { metadata: metadataFrom(event), history });
    // The enrollment moved on (a redelivery, or an officer was faster): nothing to do.
    if (refused) deps.logger?.debug({ regId: cmd.regId, command: cmd.type, reason: refused.reason }, 'process command already done or no longer applies');
  }

  /** The enrollment as read once per delivery: its whole stream, and its sealed packet (opened at most once). */
  interface Submission {
    history: StoredEnrollmentEvent[];
    sealed: SealedData;
    personal(): Promise<EnrollmentPersonalData>;
  }

  function submissionOf(regId: string, history: StoredEnrollmentEvent[]): Submission {
    const sealed = history.flatMap((e) => (e.type === 'EnrollmentSubmitted' ? [e.data.sealed] : []))[0];
    if (!sealed) throw new Error(`enrollment ${regId} has no EnrollmentSubmitted`);
    let opened: Promise<EnrollmentPersonalData> | undefined;
    return { history, sealed, personal: () => (opened ??= deps.sealer.open<EnrollmentPersonalData>(sealed)) };
  }

  async function verifyExternally(event: EventEnvelope, a: Extract<ProcessAction, { kind: 'verifyExternally' }>, { history, personal }: Submission): Promise<void> {
    const now = fold(enrollmentDecider, history);
    if (now.completedChecks.some((c) => c.checkId === a.checkId)) return;
    const attempt = now.checkAttempts[a.checkId] ?? 1;
    if (attempt > 1) await sleep(backoff(attempt));
    const data = await personal();
    const { outcome, discrepancies } = await ask(a.system, data, event.eventId);
    await command(event, { type: 'CompleteExternalCheck', regId: a.regId, checkId: a.checkId, outcome, discrepancies }, history);
  }

  async function ask(system: ExternalSystem, data: EnrollmentPersonalData, idempotencyKey: string): Promise<{ outcome: CheckOutcome; discrepancies: string[] }> {
    const d = data.demographics;
    try {
      if (system === 'SIGA') {
        const demographics = { givenNames: d.givenNames, surname: d.surname, dateOfBirth: d.dateOfBirth, sex: d.sex, ...pick(d, ['placeOfBirth', 'motherName', 'fatherName']) };
        return await deps.siga.verify({ civilRegistryNumber: d.civilRegistryNumber ?? '', demographics }, { idempotencyKey });
      }
      const demographics = { givenNames: d.givenNames, surname: d.surname, dateOfBirth: d.dateOfBirth, sex: d.sex, nationality: d.nationality };
      return immigrationCheckOutcome(await deps.immigration.verify({ permitNumber: d.residencePermitNumber ?? '', demographics }, { idempotencyKey }));
    } catch (e) {
      // Down, slow, failing or answering nonsense: all "cannot tell now". The saga asks again
      // with backoff, then hands the check to an officer.
      if (!isRegistoError(e) || !e.code.startsWith('EXTERNAL_')) throw e;
      deps.logger?.warn({ system, code: e.code, err: e.message }, 'external check could not be answered');
      return { outcome: 'UNAVAILABLE', discrepancies: [] };
    }
  }

  async function deduplicate(event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission, delivery: number): Promise<void> {
    const { history, personal } = submission;
    const data = await personal();
    if (state.packetType !== 'NEW') {
      if (!data.uin) return command(event, { type: 'RejectEnrollment', regId, code: 'UIN_REQUIRED', reason: `a ${state.packetType} packet must name the identity it updates` });
      return updateIdentity(event, regId, data.uin, submission);
    }
    // Already found a possible duplicate (this is a redelivery): the officer has the case. Asking
    // again could name the same person differently — by now under their UIN rather than their
    // pending enrollment — and add a second suspicion to a case already queued.
    if (fold(enrollmentDecider, history).suspectedDuplicates.length > 0) return;
    const personKey = await personKeyOf(state.residency!, data.demographics);
    if (personKey) {
      const holder = await claims.claim(personKey, regId);
      if (holder !== regId) {
        const candidateUin = (await claims.uinOf(holder)) ?? pendingCandidate(holder);
        return command(event, { type: 'SuspectDuplicate', regId, candidateUin, method: 'DEMOGRAPHIC', score: 1 }, history);
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
      return command(event, { type: 'RequestAdjudication', regId, adjudicationId: manualDedupAdjudicationId(regId), reasons: abisUnavailableReasons(delivery) }, history);
    }
    const best = matches[0];
    if (best) {
      const candidateUin = (await claims.uinOf(best.referenceId)) ?? pendingCandidate(best.referenceId);
      return command(event, { type: 'SuspectDuplicate', regId, candidateUin, method: 'BIOMETRIC', score: best.score }, history);
    }
    return allocateIdentity(event, regId, state, submission);
  }

  /** The blind index of the person's civil-registry number (citizens) or permit number (foreigners): their key in the registry. */
  async function personKeyOf(residency: Residency, d: EnrollmentDemographics): Promise<string | null> {
    const number = anchorNumberOf(residency, d);
    return number ? blindIndexWith(number, deps.indexKey) : null;
  }

  /**
   * Gathers what the enrollment decider needs to judge a packet's claim to be the identity it
   * names: the ABIS's 1:1 verdict against the identity's enrolled references and the blind
   * indexes of both numbers. The decider says whether the claim holds.
   */
  async function checkIdentityClaim(event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission, delivery: number): Promise<void> {
    // Checked already (a redelivery): the decider would decide nothing, so the ABIS is not asked again.
    if (fold(enrollmentDecider, submission.history).claim) return;
    const data = await submission.personal();
    if (!data.uin) return command(event, { type: 'RejectEnrollment', regId, code: 'UIN_REQUIRED', reason: `a ${state.packetType} packet must name the identity it updates` });
    const uin = data.uin;
    const loaded = await loadIdentity(deps, uin);
    if (!loaded) return command(event, { type: 'RejectEnrollment', regId, code: 'UIN_UNKNOWN', reason: `there is no identity ${uin} to update` });
    const { state: identity } = loaded;
    const opened = await loaded.openRecord();
    if (opened.erased) return command(event, { type: 'RejectEnrollment', regId, code: 'IDENTITY_ERASED', reason: `identity ${uin} has been erased` });
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
    const packetAnchorIndex = await personKeyOf(state.residency!, data.demographics);
    const identityAnchorIndex = await personKeyOf(identity.residency!, opened.record.demographics);
    await command(event, { type: 'CheckIdentityClaim', regId, uin, biometric, score, packetAnchorIndex, identityAnchorIndex }, submission.history);
  }

  async function allocateIdentity(event: EventEnvelope, regId: string, state: EnrollmentState, submission: Submission): Promise<void> {
    const sealedIn = submission.sealed;
    const data = await submission.personal();
    // The identity keeps the enrollment's subject: one key opens (and erasure closes) both.
    const sealed = await deps.sealer.seal(sealedIn.subjectId, identityRecordOf(data));
    const personKey = await personKeyOf(state.residency!, data.demographics);
    const citizen = state.residency === 'CITIZEN';
    const { uin } = await createIdentityWithNewUin(
      deps.store,
      { regId, residency: state.residency!, sealed, civilRegistryIndex: citizen ? personKey : null, permitIndex: citizen ? null : personKey },
      { draw: await keyedDigitSourceWith(deps.uinKey, regId), ...(deps.uinPolicy && { policy: deps.uinPolicy }), metadata: metadataFrom(event) },
    );
    await claims.recordUin(regId, uin);
    await command(event, { type: 'ApproveEnrollment', regId, uin }, submission.history);
  }

  async function updateIdentity(event: EventEnvelope, regId: string, uin: string, submission: Submission): Promise<void> {
    const data = await submission.personal();
    const identity = await loadIdentity(deps, uin);
    if (!identity) return command(event, { type: 'RejectEnrollment', regId, code: 'UIN_UNKNOWN', reason: `there is no identity ${uin} to update` });
    const { subjectId } = identity;
    const opened = await identity.openRecord();
    if (opened.erased) return command(event, { type: 'RejectEnrollment', regId, code: 'IDENTITY_ERASED', reason: `identity ${uin} has been erased` });
    const before = opened.record;
    const state = fold(enrollmentDecider, submission.history);
    const sealed = await deps.sealer.seal(subjectId, identityRecordOf(data));
    const personKey = await personKeyOf(state.residency!, data.demographics);
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
      metadataFrom(event),
    );
    if (refused) return command(event, { type: 'RejectEnrollment', regId, code: refused.reason, reason: refused.message });
    await claims.recordUin(regId, uin);
    // A corrected number is this identity's key from now on: a newcomer with it is its duplicate.
    if (personKey) await claims.claim(personKey, regId);
    await command(event, { type: 'ApproveEnrollment', regId, uin }, submission.history);
  }

  async function perform(event: EventEnvelope, state: EnrollmentState, a: ProcessAction, history: StoredEnrollmentEvent[], submission: () => Submission, delivery: number): Promise<void> {
    switch (a.kind) {
      case 'command':
        return command(event, a.command, history);
      case 'verifyExternally':
        return verifyExternally(event, a, submission());
      case 'checkIdentityClaim':
        return checkIdentityClaim(event, a.regId, state, submission(), delivery);
      case 'deduplicate':
        return deduplicate(event, a.regId, state, submission(), delivery);
      case 'allocateIdentity':
        return allocateIdentity(event, a.regId, state, submission());
      case 'updateIdentity':
        return updateIdentity(event, a.regId, a.uin, submission());
    }
  }

  return {
    name: 'enrollment_process',
    categories: ['enrollment'],
    migrate: () => claims.migrate(),
    async handle(delivered: EventEnvelope, delivery = 1): Promise<void> {
      const event = expectEventOf('enrollment', delivered);
      const history = await readStreamOf(deps.store, 'enrollment', event.streamId);
      // Decide from the state right after this event, so a redelivery asks for exactly what
      // the first delivery asked for; act on the stream as it is now.
      const state = fold(enrollmentDecider, history.slice(0, event.revision + 1));
      const actions = nextActions(state, event, policy);
      let submission: Submission | undefined;
      const { regId } = event.data;
      for (const a of actions) await perform(event, state, a, history, () => (submission ??= submissionOf(regId, history)), delivery);
    },
  };
}

function metadataFrom(event: EventEnvelope): Partial<Omit<EventMetadata, 'recordedAt'>> {
  return { correlationId: event.metadata.correlationId, causationId: event.eventId, actor: { ...ACTOR }, ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}) };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
