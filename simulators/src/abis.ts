import type { FastifyInstance } from 'fastify';
import { type SimulatorServerOptions, simulatorAppFor } from './app.js';
import { BIOMETRIC_MODALITIES, decodeTemplate, similarity, type BiometricModality } from './biometrics.js';
import type { Journal, JournalEntry } from './journal.js';

/**
 * The automated biometric identification system (ABIS): a gallery of templates that answers
 * "who already enrolled matches these?" and adds the newcomer in the same step, and "are these
 * the templates of that enrolled person?" without adding anything. The gallery lives in memory
 * and, given a journal (state.ts), is kept on disk too, so de-duplication survives a restart.
 */

/** A gallery entry is listed when its best score over the positions both sides have reaches this. */
export const DEFAULT_MATCH_THRESHOLD = 0.9;

export interface AbisServerOptions extends SimulatorServerOptions {
  threshold?: number;
  /** The gallery to serve (e.g. one restored from its journal); `threshold` is then the gallery's own. */
  gallery?: AbisGallery;
}

export interface AbisSample {
  modality: BiometricModality;
  /** e.g. RIGHT_THUMB, FRONTAL, LEFT. */
  position: string;
  /** base64, see biometrics.ts. */
  template: string;
}

export interface IdentificationRequest {
  referenceId: string;
  biometrics: AbisSample[];
}

export interface AbisMatch {
  referenceId: string;
  score: number;
}

export interface IdentificationAnswer {
  referenceId: string;
  /** Highest score first; ties by referenceId so the order never depends on insertion. */
  matches: AbisMatch[];
}

interface GalleryEntry {
  /** `modality/position` → vector. */
  vectors: Map<string, Int8Array>;
  modalities: BiometricModality[];
  /** The request's templates in a canonical order: tells a retry from a reuse of the id. */
  fingerprint: string;
  /** Kept so a retry gets exactly the first answer, even after the gallery has changed. */
  answer: IdentificationAnswer;
}

export interface VerificationRequest {
  /** Entries the person was enrolled under; those not held are ignored. */
  referenceIds: string[];
  biometrics: AbisSample[];
}

export interface VerificationAnswer {
  /** The held reference that scored best (the first asked about on a tie). */
  referenceId: string;
  match: boolean;
  score: number;
}

export type IdentificationOutcome =
  | { kind: 'identified' | 'replayed'; answer: IdentificationAnswer }
  | { kind: 'conflict' };

function sampleKey(sample: { modality: string; position: string }): string {
  return `${sample.modality}/${sample.position}`;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fingerprintOf(samples: readonly AbisSample[]): string {
  return JSON.stringify(samples.map((s) => [s.modality, s.position, s.template]).sort((a, b) => byText(a.join('\0'), b.join('\0'))));
}

function modalitiesOf(samples: readonly AbisSample[]): BiometricModality[] {
  return BIOMETRIC_MODALITIES.filter((m) => samples.some((s) => s.modality === m));
}

function probeOf(samples: readonly AbisSample[]): Map<string, Int8Array> {
  return new Map(samples.map((s) => [sampleKey(s), decodeTemplate(s.template)]));
}

/** The best similarity over the positions both the probe and the entry hold; 0 when they share none. */
function bestScore(probe: Map<string, Int8Array>, entry: GalleryEntry): number {
  let best = 0;
  for (const [key, vector] of probe) {
    const candidate = entry.vectors.get(key);
    if (candidate) best = Math.max(best, similarity(vector, candidate));
  }
  return best;
}

/** The gallery itself. Identify-and-insert runs without an await, so it is atomic in Node. */
export class AbisGallery {
  private readonly entries = new Map<string, GalleryEntry>();
  private identifications = 0;
  private replays = 0;
  private verifications = 0;
  private journal: Journal | undefined;

  constructor(readonly threshold: number = DEFAULT_MATCH_THRESHOLD) {
    if (!(threshold > 0 && threshold <= 1)) throw new Error('the match threshold must be in (0, 1]');
  }

  /** From now on every enrolment and erasure is also written to `journal` (after `restore` has replayed it). */
  keepIn(journal: Journal): void {
    this.journal = journal;
  }

  /** Resolves once every change so far is on disk (at once without a journal): answer only then. */
  saved(): Promise<void> {
    return this.journal?.saved() ?? Promise.resolve();
  }

  /** Replays one journal entry; throws on anything that is not an entry this gallery wrote. */
  restore(entry: JournalEntry): void {
    const referenceId = entry.referenceId;
    if (typeof referenceId !== 'string' || referenceId === '') throw new Error('no referenceId');
    if (entry.op === 'remove') {
      this.entries.delete(referenceId);
      return;
    }
    const biometrics = entry.biometrics as AbisSample[];
    const answer = entry.answer as IdentificationAnswer;
    if (entry.op !== 'enrol' || !Array.isArray(biometrics) || biometrics.length === 0 || sampleProblems(biometrics).length > 0) throw new Error('not an enrolment');
    if (answer?.referenceId !== referenceId || !Array.isArray(answer.matches)) throw new Error('no stored answer');
    this.entries.set(referenceId, { vectors: probeOf(biometrics), modalities: modalitiesOf(biometrics), fingerprint: fingerprintOf(biometrics), answer });
  }

  /** Throws when a template does not decode; the caller has checked the request's shape. */
  identify(request: IdentificationRequest): IdentificationOutcome {
    const fingerprint = fingerprintOf(request.biometrics);
    const existing = this.entries.get(request.referenceId);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'conflict' };
      this.replays++;
      return { kind: 'replayed', answer: structuredClone(existing.answer) };
    }
    const probe = probeOf(request.biometrics);
    const matches: AbisMatch[] = [];
    for (const [referenceId, entry] of this.entries) {
      const best = bestScore(probe, entry);
      if (best >= this.threshold) matches.push({ referenceId, score: best });
    }
    matches.sort((a, b) => b.score - a.score || byText(a.referenceId, b.referenceId));
    const answer = { referenceId: request.referenceId, matches };
    this.entries.set(request.referenceId, { vectors: probe, modalities: modalitiesOf(request.biometrics), fingerprint, answer });
    this.journal?.append({ op: 'enrol', referenceId: request.referenceId, biometrics: request.biometrics.map(({ modality, position, template }) => ({ modality, position, template })), answer });
    this.identifications++;
    return { kind: 'identified', answer: structuredClone(answer) };
  }

  /**
   * 1:1: the probe against the named entries only, scored as identify scores; the gallery is
   * not changed, so asking twice gives the same answer. Undefined when none of them is held.
   */
  verify(request: VerificationRequest): VerificationAnswer | undefined {
    const probe = probeOf(request.biometrics);
    let answer: VerificationAnswer | undefined;
    for (const referenceId of request.referenceIds) {
      const entry = this.entries.get(referenceId);
      if (!entry) continue;
      const score = bestScore(probe, entry);
      if (!answer || score > answer.score) answer = { referenceId, match: score >= this.threshold, score };
    }
    this.verifications++;
    return answer;
  }

  modalitiesOf(referenceId: string): BiometricModality[] | undefined {
    return this.entries.get(referenceId)?.modalities.slice();
  }

  /** Erasure: the templates and the stored answer go; true when there was something to remove. */
  remove(referenceId: string): boolean {
    const removed = this.entries.delete(referenceId);
    if (removed) this.journal?.append({ op: 'remove', referenceId });
    return removed;
  }

  get stats(): { gallerySize: number; identifications: number; replays: number; verifications: number } {
    return { gallerySize: this.entries.size, identifications: this.identifications, replays: this.replays, verifications: this.verifications };
  }
}

const referenceIdSchema = { type: 'string', minLength: 1, maxLength: 128 } as const;

const biometricsSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 32,
  items: {
    type: 'object',
    required: ['modality', 'position', 'template'],
    additionalProperties: false,
    properties: {
      modality: { type: 'string', enum: [...BIOMETRIC_MODALITIES] },
      position: { type: 'string', minLength: 1, maxLength: 64 },
      template: { type: 'string', minLength: 1, maxLength: 4096 },
    },
  },
} as const;

const identificationBody = {
  type: 'object',
  required: ['referenceId', 'biometrics'],
  additionalProperties: false,
  properties: { referenceId: referenceIdSchema, biometrics: biometricsSchema },
} as const;

const verificationBody = {
  type: 'object',
  required: ['referenceIds', 'biometrics'],
  additionalProperties: false,
  properties: { referenceIds: { type: 'array', minItems: 1, maxItems: 32, items: referenceIdSchema }, biometrics: biometricsSchema },
} as const;

/** Problems a JSON schema cannot express: duplicate positions, templates that do not decode. */
function sampleProblems(samples: readonly AbisSample[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  samples.forEach((sample, i) => {
    const key = sampleKey(sample);
    if (seen.has(key)) problems.push(`biometrics[${i}]: ${key} given twice`);
    seen.add(key);
    try {
      decodeTemplate(sample.template);
    } catch (e) {
      problems.push(`biometrics[${i}].template: ${(e as Error).message}`);
    }
  });
  return problems;
}

export function createAbisServer(options: AbisServerOptions = {}): FastifyInstance {
  const gallery = options.gallery ?? new AbisGallery(options.threshold);
  const { app } = simulatorAppFor('ABIS', options);

  app.post<{ Body: IdentificationRequest }>('/v1/identifications', { schema: { body: identificationBody } }, async (request, reply) => {
    const problems = sampleProblems(request.body.biometrics);
    if (problems.length > 0) return reply.code(400).send({ error: 'Bad Request', message: problems.join('; ') });
    const outcome = gallery.identify(request.body);
    // A retry's answer too: the first one may still be on its way to disk.
    await gallery.saved();
    if (outcome.kind === 'conflict') {
      return reply.code(409).send({ error: 'Conflict', message: 'this referenceId was identified with other templates' });
    }
    return outcome.answer;
  });

  app.post<{ Body: VerificationRequest }>('/v1/verifications', { schema: { body: verificationBody } }, async (request, reply) => {
    const problems = sampleProblems(request.body.biometrics);
    if (problems.length > 0) return reply.code(400).send({ error: 'Bad Request', message: problems.join('; ') });
    const answer = gallery.verify(request.body);
    if (!answer) return reply.code(404).send({ error: 'Not Found', message: 'none of these references is held' });
    return answer;
  });

  app.get<{ Params: { referenceId: string } }>('/v1/references/:referenceId', async (request, reply) => {
    const modalities = gallery.modalitiesOf(request.params.referenceId);
    if (!modalities) return reply.code(404).send({ error: 'Not Found', message: 'no such reference' });
    return { referenceId: request.params.referenceId, modalities };
  });

  // Idempotent: erasing someone already gone is a success, so an erasure can be retried blindly.
  app.delete<{ Params: { referenceId: string } }>('/v1/references/:referenceId', async (request, reply) => {
    gallery.remove(request.params.referenceId);
    await gallery.saved();
    return reply.code(204).send();
  });

  // /_admin/stats belongs to the fault layer (request counts); the gallery's counts join its answer.
  app.addHook('preSerialization', async (request, _reply, payload) => {
    if (request.method !== 'GET' || request.routeOptions.url !== '/_admin/stats') return payload;
    return { ...(payload as object), ...gallery.stats };
  });

  return app;
}
