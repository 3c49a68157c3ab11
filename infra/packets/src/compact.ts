import { RegistoError } from '@registo/schemas';
import { parseStrictJson } from '@registo/base';

/** Context every packet error carries, so the intake knows whether it may record anything. */
export interface PacketErrorContext {
  authenticated: boolean;
  packetHash?: string;
  regId?: string;
  deviceId?: string;
  /** The signer's centre (its certificate's OU), once authenticated. */
  centreId?: string;
  /** The centre the packet's content names, when it names one as a string (clipped). */
  claimedCentreId?: string;
}

export function packetError(
  code: ConstructorParameters<typeof RegistoError>[0],
  message: string,
  context: PacketErrorContext,
  extra: Record<string, unknown> = {},
): RegistoError {
  return new RegistoError(code, message, { ...extra, ...context });
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url (RFC 7515 §2): only the URL alphabet, no padding, and canonical, so that two
 * spellings of the same bytes are not both accepted.
 */
export function decodeBase64Url(segment: string): Buffer | undefined {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/** A protected header: base64url of a JSON object, or undefined. */
export function decodeHeader(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(segment);
  if (!bytes || bytes.length === 0) return undefined;
  try {
    // Strict JSON: a header naming `alg` or `enc` twice is refused, not read by its last value.
    const value: unknown = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
