/**
 * The one reader for base64 and PEM inputs. Node's own decoder is lenient: it skips characters
 * outside the alphabet, stops at the first '=' and ignores what follows, and accepts non-zero
 * padding bits, so many different strings decode to the same bytes and garbage after valid data
 * goes unnoticed. Here a text decodes only if it is the one canonical encoding of its bytes.
 */
export interface Base64Options {
  /** base64url (RFC 4648 §5) instead of the standard alphabet. */
  urlSafe?: boolean;
  /** Whether '=' padding must be present (standard default) or may be left out (base64url default). */
  padding?: 'required' | 'optional';
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/** The bytes `text` encodes, or null when it is not exactly a canonical base64 (or base64url) string. */
export function decodeBase64Strict(text: string, options: Base64Options = {}): Buffer | null {
  const urlSafe = options.urlSafe ?? false;
  const padding = options.padding ?? (urlSafe ? 'optional' : 'required');
  if (!(urlSafe ? URL_SAFE : STANDARD).test(text)) return null;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  const padded = unpadded.length % 4 === 0 ? unpadded : unpadded + '='.repeat(4 - (unpadded.length % 4));
  if (text !== unpadded && text !== padded) return null;
  if (padding === 'required' && text !== padded) return null;
  const bytes = Buffer.from(unpadded, urlSafe ? 'base64url' : 'base64');
  // Re-encoding gives back the same characters only if no padding bit was set.
  if (bytes.toString(urlSafe ? 'base64url' : 'base64').replace(/=+$/, '') !== unpadded) return null;
  return bytes;
}

/**
 * The DER inside one PEM block labelled `label` (RFC 7468 strict: the block alone, apart from
 * surrounding whitespace; base64 lines of at most 64 characters with padding), or null.
 */
export function readPemStrict(text: string, labels: string | readonly string[]): Buffer | null {
  const wanted = typeof labels === 'string' ? [labels] : labels;
  const m = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n-----END ([A-Z0-9 ]+)-----$/.exec(text.trim());
  if (!m || m[1] !== m[3] || !wanted.includes(m[1]!)) return null;
  const lines = m[2]!.split(/\r?\n/);
  if (lines.some((l) => l.length === 0 || l.length > 64) || lines.slice(0, -1).some((l) => l.length % 4 !== 0)) return null;
  const der = decodeBase64Strict(lines.join(''));
  return der && der.length > 0 ? der : null;
}
