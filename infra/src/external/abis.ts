import { RegistoError } from '@registo/schemas';
import { ExternalHttpClient, replyInvalid, type ExternalCallOptions, type HttpConnectorOptions } from './http-json.js';
import { isRecord, requireString, type Problems } from './reply-shape.js';

/**
 * The biometric identification system (ABIS) as the platform sees it: "does anyone already
 * enrolled match these templates?", answered and the newcomer added to the gallery in one
 * call, and erasure of a person's templates.
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

export interface BiometricIdentification {
  identify(input: BiometricIdentificationInput, options?: ExternalCallOptions): Promise<BiometricIdentificationResult>;
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

/** Talks to the ABIS over HTTP: bearer token, per-call timeout, typed errors. */
export class AbisHttpConnector implements BiometricIdentification {
  private readonly http: ExternalHttpClient;

  constructor(options: HttpConnectorOptions) {
    this.http = new ExternalHttpClient('ABIS', options);
  }

  async identify(input: BiometricIdentificationInput, options?: ExternalCallOptions): Promise<BiometricIdentificationResult> {
    const path = '/v1/identifications';
    // Only the documented fields go out: a packet's sample also carries format and quality, which
    // the ABIS would refuse as unknown.
    const biometrics = input.biometrics.map(({ modality, position, template }) => ({ modality, position, template }));
    const body = { referenceId: input.referenceId, biometrics };
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

  async remove(referenceId: string, options?: ExternalCallOptions): Promise<void> {
    // 204 (removed, or nothing to remove) and 404 (nothing to remove) both mean: not held any more.
    await this.http.send({ method: 'DELETE', path: `/v1/references/${encodeURIComponent(referenceId)}` }, options);
  }
}
