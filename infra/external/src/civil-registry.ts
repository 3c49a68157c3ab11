import type { CheckOutcome } from '@registo/schemas';
import { ExternalHttpClient, replyInvalid, type ExternalCallOptions, type HttpConnectorOptions } from './http-json.js';
import {
  isRecord,
  requireBoolean,
  requireDate,
  requireOneOf,
  requireString,
  requireStringList,
  type Problems,
} from './reply-shape.js';

/** The civil registry (SIGA) as the platform sees it: look a citizen up, or check claimed demographics. */

/** UNAVAILABLE is never a result: it is the EXTERNAL_UNAVAILABLE error. */
export type VerificationOutcome = Exclude<CheckOutcome, 'UNAVAILABLE'>;

export interface CitizenDemographics {
  givenNames?: string;
  surname?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  sex?: 'M' | 'F';
  /** District of birth, e.g. "Mé-Zóchi" or "Pagué". */
  placeOfBirth?: string;
  /** Full names, "given names surname". */
  motherName?: string;
  fatherName?: string;
}

export interface CivilVerificationInput {
  civilRegistryNumber: string;
  /** Only the fields given are compared. */
  demographics: CitizenDemographics;
}

export interface VerificationResult {
  outcome: VerificationOutcome;
  /** Names of the fields that disagree with the registry (plus "civilStatus" for a deceased person). */
  discrepancies: string[];
}

export interface CivilPerson {
  civilRegistryNumber: string;
  givenNames: string;
  surname: string;
  dateOfBirth: string;
  sex: 'M' | 'F';
  placeOfBirth: { district: string; island: string; locality: string };
  mother: { givenNames: string; surname: string };
  father: { givenNames: string; surname: string };
  civilStatus: 'ALIVE' | 'DECEASED';
  dateOfDeath: string | null;
}

export interface CivilRegistry {
  verify(input: CivilVerificationInput, options?: ExternalCallOptions): Promise<VerificationResult>;
  /** null when the registry has no such number. */
  person(civilRegistryNumber: string, options?: ExternalCallOptions): Promise<CivilPerson | null>;
}

function checkName(value: unknown, field: string, problems: Problems): void {
  if (!isRecord(value)) {
    problems.push(`${field} must be an object`);
    return;
  }
  requireString(value, 'givenNames', problems, `${field}.`);
  requireString(value, 'surname', problems, `${field}.`);
}

export function civilPersonProblems(body: unknown): Problems {
  if (!isRecord(body)) return ['person must be an object'];
  const problems: Problems = [];
  for (const field of ['civilRegistryNumber', 'givenNames', 'surname']) requireString(body, field, problems);
  requireDate(body, 'dateOfBirth', problems);
  requireOneOf(body, 'sex', ['M', 'F'], problems);
  requireOneOf(body, 'civilStatus', ['ALIVE', 'DECEASED'], problems);
  if (body.dateOfDeath !== null) requireDate(body, 'dateOfDeath', problems);
  if (isRecord(body.placeOfBirth)) {
    for (const field of ['district', 'island', 'locality']) requireString(body.placeOfBirth, field, problems, 'placeOfBirth.');
  } else {
    problems.push('placeOfBirth must be an object');
  }
  checkName(body.mother, 'mother', problems);
  checkName(body.father, 'father', problems);
  return problems;
}

/**
 * A verification reply: `match` and the `discrepancies`, which may only name fields that were
 * compared (`compared`). The list is recorded in clear (ExternalCheckCompleted), so a registry
 * that answered with values ("dateOfBirth 1943-06-26") is refused, not written down.
 */
export function verificationProblems(body: unknown, compared: readonly string[]): Problems {
  if (!isRecord(body)) return ['verification must be an object'];
  const problems: Problems = [];
  requireBoolean(body, 'match', problems);
  requireStringList(body, 'discrepancies', problems);
  if (Array.isArray(body.discrepancies) && body.discrepancies.some((d) => !compared.includes(String(d)))) {
    problems.push('discrepancies must name compared fields only');
  }
  // A "match" that lists discrepancies contradicts itself; trusting either half would be a guess.
  if (body.match === true && Array.isArray(body.discrepancies) && body.discrepancies.length > 0) {
    problems.push('match is true but discrepancies are listed');
  }
  return problems;
}

/** Talks to SIGA over HTTP: bearer token, per-call timeout, typed errors. */
export class SigaHttpConnector implements CivilRegistry {
  private readonly http: ExternalHttpClient;

  constructor(options: HttpConnectorOptions) {
    this.http = new ExternalHttpClient('SIGA', options);
  }

  async verify(input: CivilVerificationInput, options?: ExternalCallOptions): Promise<VerificationResult> {
    const reply = await this.http.send({ method: 'POST', path: '/v1/verifications', body: input }, options);
    if (reply.status === 404) return { outcome: 'NOT_FOUND', discrepancies: [] };
    // A deceased person is a discrepancy of the civil status, which the registry adds itself.
    const problems = verificationProblems(reply.body, [...Object.keys(input.demographics), 'civilStatus']);
    if (problems.length > 0) throw replyInvalid('SIGA', problems, { path: '/v1/verifications' });
    const body = reply.body as { match: boolean; discrepancies: string[] };
    return { outcome: body.match ? 'MATCH' : 'MISMATCH', discrepancies: body.discrepancies };
  }

  async person(civilRegistryNumber: string, options?: ExternalCallOptions): Promise<CivilPerson | null> {
    const path = `/v1/persons/${encodeURIComponent(civilRegistryNumber)}`;
    // Errors name the route, not the number: they reach logs and sync failures.
    const route = '/v1/persons/{civilRegistryNumber}';
    const reply = await this.http.send({ method: 'GET', path, route }, options);
    if (reply.status === 404) return null;
    const problems = civilPersonProblems(reply.body);
    if (problems.length > 0) throw replyInvalid('SIGA', problems, { path: route });
    return reply.body as CivilPerson;
  }
}
