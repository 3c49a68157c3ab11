import { type Command, InvalidArgumentError, Option } from 'commander';
import { fetchPlatform } from '@registo/base';
import { type ErrorCode, ErrorCodes, RegistoError } from '@registo/schemas';

/** Where the client commands find a running platform unless told: REGISTO_URL, else this machine's PORT. */
function defaultPlatformUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGISTO_URL || `http://127.0.0.1:${env.PORT || 8080}`;
}

function platformUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`not an http(s) URL: ${value}`);
  return value.replace(/\/+$/, '');
}

/** `--url`, the same on every command that talks to a running platform over HTTP. */
export function platformUrlOption(what = 'the running platform'): Option {
  return new Option('--url <url>', `${what} (env REGISTO_URL, else http://127.0.0.1:<PORT or 8080>)`).argParser(platformUrl).default(defaultPlatformUrl());
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
    .addOption(platformUrlOption())
    .option('--token <token>', 'operator bearer token (env REGISTO_OPERATOR_TOKEN)', process.env.REGISTO_OPERATOR_TOKEN ?? 'dev-operator');
}

/**
 * One call to the platform's API. An unreachable platform is PLATFORM_UNREACHABLE naming the URL (fetchPlatform);
 * a problem+json answer is rethrown as the RegistoError it describes (same code, details).
 */
export async function callPlatform(o: PlatformClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  const url = `${o.url.replace(/\/$/, '')}${path}`;
  const response = await fetchPlatform(url, {
    method,
    headers: { authorization: `Bearer ${o.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
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
