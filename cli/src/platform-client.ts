import type { Command } from 'commander';
import { type ErrorCode, ErrorCodes, RegistoError } from '@registo/schemas';

/** Where a client command finds the running platform: REGISTO_URL, else this machine on PORT (8080). */
export function defaultPlatformUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGISTO_URL ?? `http://127.0.0.1:${env.PORT ?? 8080}`;
}

export interface PlatformClientOptions {
  url: string;
  token: string;
}

/**
 * The options every command that calls the running platform shares: `--url` (REGISTO_URL) and
 * the operator's bearer token (REGISTO_OPERATOR_TOKEN; the development `dev-operator` by default).
 */
export function platformClientOptions(command: Command): Command {
  return command
    .option('--url <url>', 'the running platform (env REGISTO_URL)', defaultPlatformUrl())
    .option('--token <token>', 'operator bearer token (env REGISTO_OPERATOR_TOKEN)', process.env.REGISTO_OPERATOR_TOKEN ?? 'dev-operator');
}

/**
 * One call to the platform's API. An unreachable platform is PLATFORM_UNREACHABLE naming the URL;
 * a problem+json answer is rethrown as the RegistoError it describes (same code, details).
 */
export async function callPlatform(o: PlatformClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  const url = `${o.url.replace(/\/$/, '')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${o.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new RegistoError('PLATFORM_UNREACHABLE', `could not reach the platform at ${o.url} (${why}): start it (\`registo start\`) or point --url / REGISTO_URL at it`, { url: o.url, cause: why });
  }
  if (response.ok) return response;
  const text = await response.text();
  let problem: { code?: string; detail?: string; requestId?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not problem+json (a proxy's page, say): the status says enough.
  }
  const { code, detail, ...details } = problem;
  const message = `${method} ${url} answered ${response.status}${code ? ` ${code}` : ''}: ${detail ?? text.slice(0, 200)}`;
  if (code && Object.hasOwn(ErrorCodes, code)) throw new RegistoError(code as ErrorCode, message, details);
  throw new Error(message);
}
