import type { Command } from 'commander';
import { RegistoError } from '@registo/schemas';

/**
 * For commands whose exit code tells outcomes apart (`audit verify`: 1 is "tampered"; `demo`: 1
 * is "unexpected outcomes"): bad usage, which commander would end with 1, ends with `code`.
 */
export function usageErrorsExitWith<C extends Command>(command: C, code: number): C {
  return command.exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : code));
}

/** The message of a failure, with what fetch hides in its cause (ECONNREFUSED, ENOTFOUND, ...). */
function failureMessage(e: unknown): string {
  if (e instanceof RegistoError) return `${e.code}: ${e.message}`;
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`;
}

/** Wraps an action so that anything it throws ("could not …") ends the command with `code`. */
export function failuresExitWith<A extends unknown[]>(code: number, what: string, action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (e) {
      process.stderr.write(`registo: ${what}: ${failureMessage(e)}\n`);
      process.exitCode = code;
    }
  };
}
