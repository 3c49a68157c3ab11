#!/usr/bin/env node
// The one command-line entry (DESIGN §7). Built code lives in ../dist; `npm ci` builds it.
import { main } from '../dist/src/main.js';

// A command is over when main resolves (`start` only after it has shut down): exit then, so
// that a client library still holding a socket cannot keep a finished command alive.
main(process.argv).then(() => process.exit(), (error) => {
  process.stderr.write(`registo: ${error?.message ?? error}\n`);
  process.exit(1);
});
