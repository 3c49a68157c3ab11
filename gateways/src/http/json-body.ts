import { StrictJsonError, parseStrictJson } from '@registo/base';
import { RegistoError } from '@registo/schemas';

/** A request body as strict JSON (infra text/strict-json.ts); REQUEST_INVALID with the `reason` otherwise. */
export function parseJsonBody(text: string): unknown {
  try {
    return parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    throw new RegistoError('REQUEST_INVALID', `the body ${e.message}${e.reason === 'EMPTY' ? '; send a JSON value' : ''}`, { reason: e.reason });
  }
}
