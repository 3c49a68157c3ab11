/** The knobs that make a simulator misbehave like a real government system on a bad day. */

export interface OutageWindow {
  /** ISO 8601 instants; the simulator answers 503 while `from <= now < until`. */
  from: string;
  until: string;
}

export type MalformedMode = 'invalid-json' | 'wrong-shape' | 'mixed';

export interface FaultSettings {
  /** Added before every answer. */
  latencyMs: number;
  /** Up to this much more, drawn per request. */
  jitterMs: number;
  /** Share of requests answered 500. */
  errorRate: number;
  /** Share of requests held for `timeoutDelayMs` (or forever when null) before any answer. */
  timeoutRate: number;
  timeoutDelayMs: number | null;
  /** Share of successful answers whose body is replaced by garbage. */
  malformedRate: number;
  malformedMode: MalformedMode;
  outages: OutageWindow[];
  /** Shorthand for one outage starting now. */
  outageUntil: string | null;
  /** Seeds the per-request draws; setting it restarts the sequence. */
  seed: number;
}

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  timeoutRate: 0,
  timeoutDelayMs: null,
  malformedRate: 0,
  malformedMode: 'mixed',
  outages: [],
  outageUntil: null,
  seed: 1,
};

function isInstant(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a partial update from the admin endpoint; returns the problems found, so a typo in a
 * knob is reported rather than silently ignored.
 */
export function validateFaultPatch(patch: unknown): string[] {
  if (!isObject(patch)) return ['body must be a JSON object'];
  const problems: string[] = [];
  const known = new Set(Object.keys(NO_FAULTS));
  for (const key of Object.keys(patch)) if (!known.has(key)) problems.push(`unknown knob: ${key}`);
  const nonNegative = (key: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${key} must be a number >= 0`);
  };
  const rate = (key: string, value: unknown): void => {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) problems.push(`${key} must be a number in [0, 1]`);
  };
  if ('latencyMs' in patch) nonNegative('latencyMs', patch.latencyMs);
  if ('jitterMs' in patch) nonNegative('jitterMs', patch.jitterMs);
  if ('errorRate' in patch) rate('errorRate', patch.errorRate);
  if ('timeoutRate' in patch) rate('timeoutRate', patch.timeoutRate);
  if ('malformedRate' in patch) rate('malformedRate', patch.malformedRate);
  if ('timeoutDelayMs' in patch && patch.timeoutDelayMs !== null) nonNegative('timeoutDelayMs', patch.timeoutDelayMs);
  if ('malformedMode' in patch && !['invalid-json', 'wrong-shape', 'mixed'].includes(String(patch.malformedMode))) {
    problems.push('malformedMode must be invalid-json, wrong-shape or mixed');
  }
  if ('outageUntil' in patch && patch.outageUntil !== null && !isInstant(patch.outageUntil)) {
    problems.push('outageUntil must be an ISO instant or null');
  }
  if ('outages' in patch) {
    const outages = patch.outages;
    if (!Array.isArray(outages) || !outages.every((w) => isObject(w) && isInstant(w.from) && isInstant(w.until))) {
      problems.push('outages must be a list of { from, until } ISO instants');
    }
  }
  if ('seed' in patch && !Number.isInteger(patch.seed)) problems.push('seed must be an integer');
  return problems;
}
