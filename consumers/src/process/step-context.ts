import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import { type SubjectSealer, type MacKeyLike, blindIndexWith } from '@registo/crypto';
import type { BiometricIdentification, CivilRegistry, ImmigrationRegistry } from '@registo/external';
import {
  type CausedMetadata,
  type EnrollmentCommand,
  type EnrollmentDemographics,
  type EnrollmentPersonalData,
  type UinPolicy,
  advanceEnrollment,
  anchorNumberOf,
  causedBy,
} from '@registo/producers';
import type { CategoryEvent, EventEnvelope, Residency, SealedData } from '@registo/schemas';
import type { DedupClaims } from './dedup-claims.js';
import type { ProcessPolicy } from './enrollment-process.js';

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

export type StoredEnrollmentEvent = CategoryEvent<'enrollment'>;

/** What every step of the process works with: its ports, its de-duplication claims and its backoff. */
export interface StepContext {
  deps: EnrollmentProcessDeps;
  claims: DedupClaims;
  backoff: (attempt: number) => number;
}

/** The enrollment as read once per delivery: its whole stream, and its sealed packet (opened at most once). */
export interface Submission {
  history: StoredEnrollmentEvent[];
  sealed: SealedData;
  personal(): Promise<EnrollmentPersonalData>;
}

const ACTOR = { id: 'enrollment-process', role: 'system' } as const;

/** Metadata of what the process writes in answer to `event`. */
export const processMetadata = (event: EventEnvelope): CausedMetadata => causedBy(event, ACTOR);

export function submissionOf(ctx: StepContext, regId: string, history: StoredEnrollmentEvent[]): Submission {
  const sealed = history.flatMap((e) => (e.type === 'EnrollmentSubmitted' ? [e.data.sealed] : []))[0];
  if (!sealed) throw new Error(`enrollment ${regId} has no EnrollmentSubmitted`);
  let opened: Promise<EnrollmentPersonalData> | undefined;
  return { history, sealed, personal: () => (opened ??= ctx.deps.sealer.open<EnrollmentPersonalData>(sealed)) };
}

/**
 * Sends a command to the enrollment, deciding first on the stream as this delivery read it
 * (one read less per step). A refusal is only believed on a fresh read: the stream read at
 * the start of the delivery may be behind an officer's decision.
 */
export async function command(ctx: StepContext, event: EventEnvelope, cmd: EnrollmentCommand, history?: StoredEnrollmentEvent[]): Promise<void> {
  const { refused } = await advanceEnrollment(ctx.deps.store, cmd, { metadata: processMetadata(event), history });
  // The enrollment moved on (a redelivery, or an officer was faster): nothing to do.
  if (refused) ctx.deps.logger?.debug({ regId: cmd.regId, command: cmd.type, reason: refused.reason }, 'process command already done or no longer applies');
}

/** The blind index of the person's civil-registry number (citizens) or permit number (foreigners): their key in the registry. */
export async function personKeyOf(ctx: StepContext, residency: Residency, d: EnrollmentDemographics): Promise<string | null> {
  const number = anchorNumberOf(residency, d);
  return number ? blindIndexWith(number, ctx.deps.indexKey) : null;
}
