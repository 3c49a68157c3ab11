import { RegistoError } from '@registo/schemas';

/**
 * SQLSTATEs that mean "the database is not there (now)", not "your statement is wrong":
 * class 08 (connection exception), 57P01–57P03 (administrator / crash shutdown, cannot
 * connect now: what a restart or a failover sends), 53xxx (insufficient resources, a full
 * disk among them), 58030 (an I/O error of the database's files).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53...|58030)$/;

/**
 * Socket-level failures of the driver, the `pg` pool's own messages for them, and the storage
 * failures of an embedded engine (PGlite reports a read-only filesystem as "permission denied",
 * 42501, with the system's message).
 */
const STORAGE_CAUSES: ReadonlyArray<[RegExp, string]> = [
  [/No space left on device/i, 'disk full'],
  [/Read-only file system/i, 'read-only filesystem'],
  [/Input\/output error/i, 'I/O error'],
];
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOSPC', 'EIO', 'EROFS']);
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /connection error/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /Connection ended/i,
  ...STORAGE_CAUSES.map(([m]) => m),
];

/** True when `e` says the database could not be reached, not that a statement failed. */
export function isStoreUnavailable(e: unknown): boolean {
  if (e instanceof RegistoError) return e.code === 'STORE_UNAVAILABLE';
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
}

/**
 * The retryable 503 a caller can act on. Only the SQLSTATE or errno travels: a driver's
 * message may quote the statement's parameters, which can hold personal data.
 */
export function storeUnavailable(e: unknown): RegistoError {
  if (e instanceof RegistoError) return e;
  const { code, message } = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; message?: unknown };
  // A storage failure is named by what happened (the system's words, never the statement's).
  const storage = typeof message === 'string' ? STORAGE_CAUSES.find(([m]) => m.test(message))?.[1] : undefined;
  const cause = storage ?? (typeof code === 'string' ? code : 'connection lost');
  return new RegistoError('STORE_UNAVAILABLE', `the database is unavailable (${cause}); retry later`, { cause });
}

/** Rethrows `e`, as STORE_UNAVAILABLE when it is an outage. */
export function rethrowOutage(e: unknown): never {
  throw isStoreUnavailable(e) ? storeUnavailable(e) : e;
}
