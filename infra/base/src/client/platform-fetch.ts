import { RegistoError } from '@registo/schemas';

/** `fetch failed` says nothing: the cause (ECONNREFUSED, ENOTFOUND, a timeout) is one or two levels down. */
function causeOf(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    if (e.cause === undefined) return e.message;
    e = e.cause;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * `fetch` for the commands that talk to a running platform (`demo`, `audit verify`): when nothing
 * answers at the URL, the error says which URL it tried and where to set another, rather than
 * `fetch failed`.
 */
export async function fetchPlatform(url: string | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const target = new URL(url);
    const cause = causeOf(error);
    throw new RegistoError(
      'PLATFORM_UNREACHABLE',
      `cannot reach the platform at ${target.origin} (${target.pathname}: ${cause}); is \`registo start\` running there? Pass --url or set REGISTO_URL`,
      { url: target.origin, path: target.pathname, cause },
    );
  }
}
