import { ExternalHttpClient, replyInvalid, type ExternalCallOptions, type HttpConnectorOptions } from './http-json.js';
import type { VerificationOutcome } from './civil-registry.js';
import { verificationProblems } from './civil-registry.js';
import { isRecord, requireDate, requireOneOf, requireString, type Problems } from './reply-shape.js';

/** The immigration service as the platform sees it: residence permits of foreigners. */

export type PermitStatus = 'VALID' | 'EXPIRED' | 'REVOKED';
export const PERMIT_STATUSES: readonly PermitStatus[] = ['VALID', 'EXPIRED', 'REVOKED'];
export type PermitType = 'TEMPORARY' | 'PERMANENT' | 'WORK' | 'STUDY' | 'FAMILY';
export const PERMIT_TYPES: readonly PermitType[] = ['TEMPORARY', 'PERMANENT', 'WORK', 'STUDY', 'FAMILY'];

export interface ForeignerDemographics {
  givenNames?: string;
  surname?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  sex?: 'M' | 'F';
  /** ISO 3166-1 alpha-3. */
  nationality?: string;
}

export interface PermitVerificationInput {
  permitNumber: string;
  /** Only the fields given are compared. */
  demographics: ForeignerDemographics;
}

export interface PermitVerificationResult {
  outcome: VerificationOutcome;
  discrepancies: string[];
  /** null when the permit is unknown. */
  permitStatus: PermitStatus | null;
}

export interface ResidencePermit {
  permitNumber: string;
  givenNames: string;
  surname: string;
  nationality: string;
  dateOfBirth: string;
  sex: 'M' | 'F';
  permitType: PermitType;
  validFrom: string;
  validUntil: string;
  status: PermitStatus;
}

export interface ImmigrationRegistry {
  verify(input: PermitVerificationInput, options?: ExternalCallOptions): Promise<PermitVerificationResult>;
  /** null when there is no such permit. */
  permit(permitNumber: string, options?: ExternalCallOptions): Promise<ResidencePermit | null>;
}

export function residencePermitProblems(body: unknown): Problems {
  if (!isRecord(body)) return ['permit must be an object'];
  const problems: Problems = [];
  for (const field of ['permitNumber', 'givenNames', 'surname', 'nationality']) requireString(body, field, problems);
  for (const field of ['dateOfBirth', 'validFrom', 'validUntil']) requireDate(body, field, problems);
  requireOneOf(body, 'sex', ['M', 'F'], problems);
  requireOneOf(body, 'permitType', PERMIT_TYPES, problems);
  requireOneOf(body, 'status', PERMIT_STATUSES, problems);
  return problems;
}

export function permitVerificationProblems(body: unknown, compared: readonly string[]): Problems {
  const problems = verificationProblems(body, compared);
  if (isRecord(body)) requireOneOf(body, 'permitStatus', PERMIT_STATUSES, problems);
  return problems;
}

/** Talks to the immigration service over HTTP: bearer token, per-call timeout, typed errors. */
export class ImmigrationHttpConnector implements ImmigrationRegistry {
  private readonly http: ExternalHttpClient;

  constructor(options: HttpConnectorOptions) {
    this.http = new ExternalHttpClient('IMMIGRATION', options);
  }

  async verify(input: PermitVerificationInput, options?: ExternalCallOptions): Promise<PermitVerificationResult> {
    const reply = await this.http.send({ method: 'POST', path: '/v1/verifications', body: input }, options);
    if (reply.status === 404) return { outcome: 'NOT_FOUND', discrepancies: [], permitStatus: null };
    const problems = permitVerificationProblems(reply.body, Object.keys(input.demographics));
    if (problems.length > 0) throw replyInvalid('IMMIGRATION', problems, { path: '/v1/verifications' });
    const body = reply.body as { match: boolean; discrepancies: string[]; permitStatus: PermitStatus };
    return { outcome: body.match ? 'MATCH' : 'MISMATCH', discrepancies: body.discrepancies, permitStatus: body.permitStatus };
  }

  async permit(permitNumber: string, options?: ExternalCallOptions): Promise<ResidencePermit | null> {
    const path = `/v1/permits/${encodeURIComponent(permitNumber)}`;
    // Errors name the route, not the number: they reach logs and sync failures.
    const route = '/v1/permits/{permitNumber}';
    const reply = await this.http.send({ method: 'GET', path, route }, options);
    if (reply.status === 404) return null;
    const problems = residencePermitProblems(reply.body);
    if (problems.length > 0) throw replyInvalid('IMMIGRATION', problems, { path: route });
    return reply.body as ResidencePermit;
  }
}
