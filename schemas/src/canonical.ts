import { createHash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

// The package is CommonJS with `module.exports = fn`; under NodeNext the default import is that fn.
const canonicalizeFn = canonicalizeImport as unknown as (value: unknown) => string | undefined;

/** RFC 8785 (JSON Canonicalization Scheme) serialisation. */
export function canonicalJson(value: unknown): string {
  const out = canonicalizeFn(value);
  if (out === undefined) throw new TypeError('value cannot be canonicalised (undefined or a function)');
  return out;
}

export function sha256Hex(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('hex');
}
