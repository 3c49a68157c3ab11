import { InvalidArgumentError, Option } from 'commander';

/** Where the client commands find a running platform unless told: REGISTO_URL, else this machine's PORT. */
export function defaultPlatformUrl(env: NodeJS.ProcessEnv = process.env): string {
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
