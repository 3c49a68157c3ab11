#!/usr/bin/env node
// The one command-line entry (DESIGN §7). Built code lives in ../dist; `npm ci` builds it.
import { main } from '../dist/src/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`registo: ${error?.message ?? error}\n`);
  process.exit(1);
});
