#!/usr/bin/env node
import { runSimulatorsCommand } from '../dist/src/main.js';

runSimulatorsCommand(process.argv.slice(2), process.env).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
