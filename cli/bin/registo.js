#!/usr/bin/env node
// The one command-line entry (DESIGN §7). Built code lives in ../dist; `npm ci` builds it.
import { inspect } from 'node:util';
import { main } from '../dist/src/main.js';

// A command is over when main resolves (`start` only after it has shut down): exit then, so
// that a client library still holding a socket cannot keep a finished command alive.
main(process.argv).then(() => process.exit(), (error) => {
  // Some libraries throw objects that are not Errors: show what they hold, not "[object Object]".
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : inspect(error, { depth: 2, breakLength: Infinity });
  // A RegistoError's stable code comes first, so that scripts and people can look it up (docs/errors.md).
  const code = error instanceof Error && error.name === 'RegistoError' && typeof error.code === 'string' ? `${error.code}: ` : '';
  process.stderr.write(`registo: ${code}${message}\n`);
  process.exit(1);
});
