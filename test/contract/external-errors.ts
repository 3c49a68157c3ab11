import { expect } from 'chai';
import { RegistoError, type ErrorCode } from '@registo/schemas';

/** Awaits `p`, which must fail with a RegistoError of `code`; returns it for further checks. */
export async function expectExternalError(p: Promise<unknown>, code: ErrorCode): Promise<RegistoError> {
  try {
    await p;
  } catch (e) {
    expect(e, `expected ${code}, got ${String(e)}`).to.be.instanceOf(RegistoError);
    expect((e as RegistoError).code, (e as Error).message).to.equal(code);
    return e as RegistoError;
  }
  return expect.fail(`expected ${code}, but it succeeded`);
}

/** Wraps fetch to record the headers of every call, so tests can see what the connector sent. */
export function recordingFetch(): { fetch: typeof fetch; headers: Headers[] } {
  const headers: Headers[] = [];
  return {
    headers,
    fetch: (input, init) => {
      headers.push(new Headers(init?.headers));
      return fetch(input, init);
    },
  };
}
