import { RegistoError } from '@registo/schemas';
import { ExternalHttpClient, replyInvalid, type ExternalCallOptions, type HttpConnectorOptions } from './http-json.js';
import { isRecord, requireString, type Problems } from './reply-shape.js';

/**
 * The biometric identification system (ABIS) as the platform sees it: "does anyone already
 * enrolled match these templates?" (1:N, answered and the newcomer added to the gallery in one
 * call), "are these templates those of this enrolled person?" (1:1, the gallery unchanged), and
 * erasure of a person's templates.
 */

export type BiometricModality = 'FINGER' | 'FACE' | 'IRIS';

export interface BiometricSample {
  modality: BiometricModality;
  /** Finger, eye or pose, e.g. RIGHT_THUMB, LEFT, FRONTAL; one sample per modality and position. */
  position: string;
  /** base64; opaque to the platform. */
  template: string;
}

export interface BiometricMatch {
  /** The referenceId under which the matching person was identified. */
  referenceId: string;
  /** 0..1; at or above the ABIS's threshold, or it would not be listed. */
  score: number;
}

export interface BiometricIdentificationInput {
  /**
   * Names this person in the gallery. Reusing it with the same templates returns the first
   * answer again (safe retries); with other templates the ABIS refuses (EXTERNAL_REJECTED, 409).
   */
  referenceId: string;
  biometrics: BiometricSample[];
}

export interface BiometricIdentificationResult {
  /** Gallery entries other than the input's own, highest score first. */
  matches: BiometricMatch[];
}

export interface BiometricVerificationInput {
  /** The references (gallery entries) the person was enrolled under; those the ABIS does not hold are ignored. */
  referenceIds: string[];
  biometrics: BiometricSample[];
}

/**
 * MATCH / NO_MATCH: the best score of the probe against the references held, at or above the
 * ABIS's threshold or not. NO_REFERENCE: the ABIS holds none of them (never enrolled there, or
 * erased), so it cannot tell.
 */
export type BiometricVerificationResult =
  | { outcome: 'MATCH' | 'NO_MATCH'; score: number; referenceId: string }
  | { outcome: 'NO_REFERENCE'; score: null; referenceId: null };

export interface BiometricIdentification {
  identify(input: BiometricIdentificationInput, options?: ExternalCallOptions): Promise<BiometricIdentificationResult>;
  /** 1:1 verification: compares without adding the probe to the gallery, so it is safe to repeat. */
  verify(input: BiometricVerificationInput, options?: ExternalCallOptions): Promise<BiometricVerificationResult>;
  /** Erasure: the ABIS forgets the person's templates. Resolves also when it held none. */
  remove(referenceId: string, options?: ExternalCallOptions): Promise<void>;
}

function matchProblems(value: unknown, index: number, problems: Problems): void {
  const prefix = `matches[${index}].`;
  if (!isRecord(value)) {
    problems.push(`matches[${index}] must be an object`);
    return;
  }
  requireString(value, 'referenceId', problems, prefix);
  const score = value.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1)) problems.push(`${prefix}score must be a number in [0, 1]`);
}

/** The reply must be about the person asked about: an answer for another referenceId is no answer. */
export function identificationProblems(body: unknown, referenceId: string): Problems {
  if (!isRecord(body)) return ['identification must be an object'];
  const problems: Problems = [];
  if (body.referenceId !== referenceId) problems.push(`referenceId must be ${JSON.stringify(referenceId)}`);
  if (!Array.isArray(body.matches)) return [...problems, 'matches must be a list'];
  body.matches.forEach((match, i) => matchProblems(match, i, problems));
  return problems;
}

/** A verification reply must name one of the references asked about and say match or not with a score. */
export function biometricVerificationProblems(body: unknown, referenceIds: readonly string[]): Problems {
  if (!isRecord(body)) return ['verification must be an object'];
  const problems: Problems = [];
  if (typeof body.referenceId !== 'string' || !referenceIds.includes(body.referenceId)) problems.push('referenceId must be one of the references asked about');
  if (typeof body.match !== 'boolean') problems.push('match must be a boolean');
  const score = body.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1)) problems.push('score must be a number in [0, 1]');
  return problems;
}

/** Only the documented fields go out: a packet's sample also carries format and quality, which the ABIS would refuse as unknown. */
const samplesOut = (biometrics: readonly BiometricSample[]): BiometricSample[] => biometrics.map(({ modality, position, template }) => ({ modality, position, template }));

/** Talks to the ABIS over HTTP: bearer token, per-call timeout, typed errors. */
export class AbisHttpConnector implements BiometricIdentification {
  private readonly http: ExternalHttpClient;

  constructor(options: HttpConnectorOptions) {
    this.http = new ExternalHttpClient('ABIS', options);
  }

  async identify(input: BiometricIdentificationInput, options?: ExternalCallOptions): Promise<BiometricIdentificationResult> {
    const path = '/v1/identifications';
    const body = { referenceId: input.referenceId, biometrics: samplesOut(input.biometrics) };
    const reply = await this.http.send({ method: 'POST', path, body }, options);
    // Not-found has no meaning for an identification: the endpoint itself is missing.
    if (reply.status === 404) {
      throw new RegistoError('EXTERNAL_REJECTED', 'ABIS: refused the request with 404', {
        system: 'ABIS',
        retryable: false,
        method: 'POST',
        path,
        status: 404,
      });
    }
    const problems = identificationProblems(reply.body, input.referenceId);
    if (problems.length > 0) throw replyInvalid('ABIS', problems, { path });
    const matches = (reply.body as { matches: BiometricMatch[] }).matches;
    // Only the documented fields travel on: whatever else a vendor adds stays at the edge.
    const sorted = matches
      .map(({ referenceId, score }) => ({ referenceId, score }))
      .sort((a, b) => b.score - a.score);
    return { matches: sorted };
  }

  async verify(input: BiometricVerificationInput, options?: ExternalCallOptions): Promise<BiometricVerificationResult> {
    const path = '/v1/verifications';
    const body = { referenceIds: input.referenceIds, biometrics: samplesOut(input.biometrics) };
    const reply = await this.http.send({ method: 'POST', path, body }, options);
    // 404 here is the ABIS's answer "I hold none of these references", not a missing endpoint.
    if (reply.status === 404) return { outcome: 'NO_REFERENCE', score: null, referenceId: null };
    const problems = biometricVerificationProblems(reply.body, input.referenceIds);
    if (problems.length > 0) throw replyInvalid('ABIS', problems, { path });
    const { match, score, referenceId } = reply.body as { match: boolean; score: number; referenceId: string };
    return { outcome: match ? 'MATCH' : 'NO_MATCH', score, referenceId };
  }

  async remove(referenceId: string, options?: ExternalCallOptions): Promise<void> {
    // 204 (removed, or nothing to remove) and 404 (nothing to remove) both mean: not held any more.
    await this.http.send({ method: 'DELETE', path: `/v1/references/${encodeURIComponent(referenceId)}` }, options);
  }
}
