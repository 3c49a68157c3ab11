import type { EnrollmentPersonalData } from '@registo/producers';
import { enrollmentDecider, fold, immigrationCheckOutcome } from '@registo/producers';
import { type CheckOutcome, type EventEnvelope, type ExternalSystem, isRegistoError } from '@registo/schemas';
import type { ProcessAction } from './enrollment-process.js';
import { type StepContext, type Submission, command } from './step-context.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asks SIGA or Immigration about the packet's person (again, after a backoff, when the last answer was "cannot tell now"). */
export async function verifyExternally(ctx: StepContext, event: EventEnvelope, a: Extract<ProcessAction, { kind: 'verifyExternally' }>, { history, personal }: Submission): Promise<void> {
  const now = fold(enrollmentDecider, history);
  if (now.completedChecks.some((c) => c.checkId === a.checkId)) return;
  const attempt = now.checkAttempts[a.checkId] ?? 1;
  if (attempt > 1) await sleep(ctx.backoff(attempt));
  const data = await personal();
  const { outcome, discrepancies } = await ask(ctx, a.system, data, event.eventId);
  await command(ctx, event, { type: 'CompleteExternalCheck', regId: a.regId, checkId: a.checkId, outcome, discrepancies }, history);
}

async function ask(ctx: StepContext, system: ExternalSystem, data: EnrollmentPersonalData, idempotencyKey: string): Promise<{ outcome: CheckOutcome; discrepancies: string[] }> {
  const { deps } = ctx;
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

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
