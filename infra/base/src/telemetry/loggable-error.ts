import { RegistoError } from '@registo/schemas';

/**
 * What of an error goes to the log: its kind, its code and where it was raised. A RegistoError's
 * message too, since those name codes and fields, never values (docs/errors.md). Not the message
 * or properties of any other error: a driver's error carries the SQL, its parameters and the
 * offending value ("invalid input syntax for type integer: \"Maria\"", "unnamed portal parameter
 * $1 = '…'"), and a library's may quote the input it choked on.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 12).map((f) => f.trim());
  return {
    type: error.name,
    ...(typeof code === 'string' && { code }),
    ...(error instanceof RegistoError && { message: error.message }),
    stack: frames,
  };
}
