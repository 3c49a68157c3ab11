import { deriveSeed, mulberry32 } from './random.js';

/**
 * Synthetic biometric templates: a fixed-length vector of signed bytes, base64-encoded. The
 * vector is a function of (person, modality, position), so every capture of the same finger
 * carries the same "identity", plus a little noise drawn from the capture's seed, as a real
 * sensor never reads a finger twice the same way. Nothing here resembles a real template
 * format; it only has to behave like one for de-duplication.
 */

export type BiometricModality = 'FINGER' | 'FACE' | 'IRIS';
export const BIOMETRIC_MODALITIES: readonly BiometricModality[] = ['FINGER', 'FACE', 'IRIS'];

/** Bytes per template. 128 dimensions keep unrelated templates near-orthogonal (cosine σ ≈ 0.09). */
export const TEMPLATE_LENGTH = 128;

/** The identity part of each component is uniform in ±IDENTITY_AMPLITUDE, the capture noise in ±NOISE_AMPLITUDE. */
const IDENTITY_AMPLITUDE = 100;
/** Noise variance is 1% of the identity's: two captures of one finger have a cosine of about 0.99. */
const NOISE_AMPLITUDE = 10;

function clampToByte(value: number): number {
  return Math.max(-127, Math.min(127, Math.round(value)));
}

/** A deterministic capture of one person's finger, face or iris, as base64. */
export function syntheticTemplate(personKey: string, modality: BiometricModality, position: string, captureSeed: number): string {
  // JSON keeps the parts apart, so ("a|b", "c") and ("a", "b|c") stay different people.
  const label = JSON.stringify([modality, position, personKey]);
  const identity = mulberry32(deriveSeed(0x5eed, label, 0));
  const noise = mulberry32(deriveSeed(captureSeed >>> 0, label, 1));
  const vector = new Int8Array(TEMPLATE_LENGTH);
  for (let i = 0; i < TEMPLATE_LENGTH; i++) {
    const base = (identity() * 2 - 1) * IDENTITY_AMPLITUDE;
    vector[i] = clampToByte(base + (noise() * 2 - 1) * NOISE_AMPLITUDE);
  }
  return Buffer.from(vector.buffer).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The vector inside a template; throws on anything that is not exactly TEMPLATE_LENGTH bytes of
 * canonical base64, or on an all-zero vector (it has no direction to compare).
 */
export function decodeTemplate(template: string): Int8Array {
  if (typeof template !== 'string' || template.length % 4 !== 0 || !BASE64.test(template)) {
    throw new Error('template must be base64');
  }
  const bytes = Buffer.from(template, 'base64');
  // Buffer.from ignores stray padding bits; re-encoding catches non-canonical input.
  if (bytes.toString('base64') !== template) throw new Error('template must be canonical base64');
  if (bytes.length !== TEMPLATE_LENGTH) throw new Error(`template must hold ${TEMPLATE_LENGTH} bytes, got ${bytes.length}`);
  const vector = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length).slice();
  if (vector.every((v) => v === 0)) throw new Error('template is all zeros');
  return vector;
}

/** Cosine similarity of two decoded vectors, negatives clamped to 0: 1 identical, ~0 unrelated. */
export function similarity(a: Int8Array, b: Int8Array): number {
  if (a.length !== b.length) throw new Error('templates of different lengths cannot be compared');
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  return Math.min(1, Math.max(0, dot / Math.sqrt(normA * normB)));
}

/** Score in [0, 1] of two base64 templates; throws if either is malformed. */
export function compareTemplates(a: string, b: string): number {
  return similarity(decodeTemplate(a), decodeTemplate(b));
}
