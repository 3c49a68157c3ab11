import { IDENTITY_STATUSES, type IdentityStatus, type Residency } from '@registo/schemas';
import type { SyncSystem } from '@registo/external';
import { ACCEPTED_EXTERNAL_REG_PREFIX, type EnrollmentDemographics } from '@registo/producers';

/**
 * The integration agreements, as data: which operations each system receives, and for each
 * the only attributes that may leave the platform. The sync consumer builds every request
 * from this table and nothing else; the minimisation test checks what the simulators
 * received against it.
 */

export type SigaOperation = 'ENROLLED' | 'UPDATED' | 'ISSUED' | 'DEACTIVATED' | 'DECEASED';
export type ImmigrationOperation = 'IDENTITY_LINKED' | 'CREDENTIAL_STATUS';
export type OutboundOperation = SigaOperation | ImmigrationOperation;

/** Where a field's value comes from: the event, the sealed identity record, or the operation itself. */
export type FieldSource = 'uin' | 'operation' | 'credentialId' | 'credentialStatus' | keyof EnrollmentDemographics;

export interface AgreedField {
  /** Name in the request body. */
  name: string;
  source: FieldSource;
  /** Personal data: opened from `sealed` only for this field, never logged, never in a sync event. */
  personal: boolean;
}

const f = (name: string, source: FieldSource, personal: boolean): AgreedField => ({ name, source, personal });
const SIGA_KEY = [f('uin', 'uin', false), f('civilRegistryNumber', 'civilRegistryNumber', true), f('status', 'operation', false)];
const SIGA_DEMOGRAPHICS = [f('givenNames', 'givenNames', true), f('surname', 'surname', true), f('dateOfBirth', 'dateOfBirth', true), f('sex', 'sex', true)];
const IMMIGRATION_KEY = [f('uin', 'uin', false), f('permitNumber', 'residencePermitNumber', true), f('operation', 'operation', false)];

export const AGREEMENT: { SIGA: Record<SigaOperation, AgreedField[]>; IMMIGRATION: Record<ImmigrationOperation, AgreedField[]> } = {
  SIGA: {
    ENROLLED: [...SIGA_KEY, ...SIGA_DEMOGRAPHICS],
    UPDATED: [...SIGA_KEY, ...SIGA_DEMOGRAPHICS],
    ISSUED: [...SIGA_KEY, f('credentialId', 'credentialId', false)],
    DEACTIVATED: SIGA_KEY,
    DECEASED: SIGA_KEY,
  },
  IMMIGRATION: {
    IDENTITY_LINKED: IMMIGRATION_KEY,
    CREDENTIAL_STATUS: [...IMMIGRATION_KEY, f('credentialId', 'credentialId', false), f('credentialStatus', 'credentialStatus', false)],
  },
};

export function agreedFields(system: SyncSystem, operation: OutboundOperation): AgreedField[] {
  const fields = (AGREEMENT[system] as Record<string, AgreedField[] | undefined>)[operation];
  if (!fields) throw new Error(`${system} has no agreed operation ${operation}`);
  return fields;
}

/** Every attribute name a system may ever receive (the union over its operations). */
export function agreedNames(system: SyncSystem): Set<string> {
  return new Set(Object.values(AGREEMENT[system]).flatMap((fields: AgreedField[]) => fields.map((x) => x.name)));
}

/** What a trigger needs to know about the event and its identity. */
export interface TriggerInput {
  type: string;
  data: Record<string, unknown>;
  /** The identity's residency (read from its stream when the event does not carry it). */
  residency: Residency;
}

export interface SyncTrigger {
  system: SyncSystem;
  operation: OutboundOperation;
  uin: string;
  credentialId?: string;
  credentialStatus?: string;
}

/** A register status as SIGA is told it: a blocked identity is deactivated for SIGA (it has no BLOCKED). */
export const SIGA_STATUS_OPERATION: Record<IdentityStatus, SigaOperation> = { ACTIVE: 'UPDATED', DEACTIVATED: 'DEACTIVATED', BLOCKED: 'DEACTIVATED', DECEASED: 'DECEASED' };
/** What SIGA's record should say for each register status once every sync has gone through. */
export const SIGA_EXPECTED_STATUS: Record<IdentityStatus, string> = { ACTIVE: 'ACTIVE', DEACTIVATED: 'DEACTIVATED', BLOCKED: 'DEACTIVATED', DECEASED: 'DECEASED' };

/**
 * The syncs that give a system the register's current value of one reconciled field: the
 * record again (ENROLLED / IDENTITY_LINKED) when the system lacks it, the status when a status
 * differs, the record as an update otherwise; a SIGA update says ACTIVE, so an identity that is
 * not active has its status sent after it. Used by the register-authoritative rules and by an
 * operator's ACCEPT_REGISTER.
 */
export function registerValueTriggers(system: SyncSystem, field: string, kind: string, uin: string, status: IdentityStatus): SyncTrigger[] {
  if (system === 'IMMIGRATION') return [{ system, operation: 'IDENTITY_LINKED', uin }];
  const statusOp: SyncTrigger = { system, operation: SIGA_STATUS_OPERATION[status], uin };
  const after = status === 'ACTIVE' ? [] : [statusOp];
  if (kind === 'MISSING_IN_EXTERNAL') return [{ system, operation: 'ENROLLED', uin }, ...after];
  if (field === 'identityStatus' || field === 'civilStatus') return [statusOp];
  return [{ system, operation: 'UPDATED', uin }, ...after];
}

/**
 * Credential events (category `credential`) as the credential part defines them. Their data is
 * expected to carry `uin` and `credentialId`; the status each one means for Immigration is here.
 */
export const CREDENTIAL_STATUS_OF: Record<string, string> = {
  CredentialIssued: 'ISSUED',
  CredentialSuspended: 'SUSPENDED',
  CredentialReinstated: 'REINSTATED',
  CredentialRevoked: 'REVOKED',
};

function credentialTriggers(input: TriggerInput): SyncTrigger[] {
  const uin = String(input.data.uin ?? '');
  const credentialId = String(input.data.credentialId ?? '');
  const credentialStatus = CREDENTIAL_STATUS_OF[input.type]!;
  if (input.residency === 'FOREIGNER') return [{ system: 'IMMIGRATION', operation: 'CREDENTIAL_STATUS', uin, credentialId, credentialStatus }];
  return input.type === 'CredentialIssued' ? [{ system: 'SIGA', operation: 'ISSUED', uin, credentialId }] : [];
}

/**
 * The mapping table: event type → the syncs it asks for. Citizens are SIGA's, foreigners
 * Immigration's. Types not listed ask for nothing.
 */
export const SYNC_TRIGGERS: Record<string, (input: TriggerInput) => SyncTrigger[]> = {
  IdentityCreated: ({ data, residency }) => [
    residency === 'CITIZEN' ? { system: 'SIGA', operation: 'ENROLLED', uin: String(data.uin) } : { system: 'IMMIGRATION', operation: 'IDENTITY_LINKED', uin: String(data.uin) },
  ],
  // An update that took the system's own value (an operator's ACCEPT_EXTERNAL) is not told back to it.
  IdentityUpdated: ({ data, residency }) =>
    String(data.regId).startsWith(ACCEPTED_EXTERNAL_REG_PREFIX)
      ? []
      : [residency === 'CITIZEN' ? { system: 'SIGA', operation: 'UPDATED', uin: String(data.uin) } : { system: 'IMMIGRATION', operation: 'IDENTITY_LINKED', uin: String(data.uin) }],
  IdentityStatusChanged: ({ data, residency }) => {
    const to = IDENTITY_STATUSES.find((status) => status === data.to);
    return residency === 'CITIZEN' && to ? [{ system: 'SIGA', operation: SIGA_STATUS_OPERATION[to], uin: String(data.uin) }] : [];
  },
  CredentialIssued: credentialTriggers,
  CredentialSuspended: credentialTriggers,
  CredentialReinstated: credentialTriggers,
  CredentialRevoked: credentialTriggers,
};

export function triggersFor(input: TriggerInput, system: SyncSystem): SyncTrigger[] {
  return (SYNC_TRIGGERS[input.type]?.(input) ?? []).filter((t) => t.system === system);
}

/** Raised when the record lacks a value the agreement requires (e.g. a citizen without a civil-registry number). */
export class AgreementDataMissing extends Error {
  constructor(readonly field: string) {
    super(`the identity record has no ${field}, which the agreement requires`);
  }
}

/** The request body: exactly the agreed fields of the operation, each from its source. */
export function buildPayload(trigger: SyncTrigger, demographics: EnrollmentDemographics | null): Record<string, string> {
  const body: Record<string, string> = {};
  for (const field of agreedFields(trigger.system, trigger.operation)) {
    let value: unknown;
    if (field.source === 'uin') value = trigger.uin;
    else if (field.source === 'operation') value = trigger.operation;
    else if (field.source === 'credentialId') value = trigger.credentialId;
    else if (field.source === 'credentialStatus') value = trigger.credentialStatus;
    else value = demographics?.[field.source];
    if (typeof value !== 'string' || value.length === 0) throw new AgreementDataMissing(field.name);
    body[field.name] = value;
  }
  return body;
}

/** Whether an operation needs anything from the sealed record. */
export const needsPersonalData = (trigger: SyncTrigger): boolean => agreedFields(trigger.system, trigger.operation).some((x) => x.personal);
