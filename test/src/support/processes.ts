import { execFile } from 'node:child_process';
import { expect } from 'chai';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to the end and resolves with its exit code and output, never rejecting: the
 * tests that shell out to openssl or pkcs11-tool assert on the code and print the output when
 * it is not what they expect.
 */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `openssl` and fails the test, showing the command and its output, unless it exits 0. */
export async function opensslOk(args: string[]): Promise<RunResult> {
  const r = await run('openssl', args);
  expect(r.code, `openssl ${args.join(' ')}\n${r.stdout}${r.stderr}`).to.equal(0);
  return r;
}
