import { Command } from 'commander';
import { registerStart } from './commands/start.js';
import { registerSchemas } from './commands/schemas.js';
import { registerBench } from './commands/bench.js';
import { registerReplay } from './commands/replay.js';
import { registerInfra } from './commands/infra.js';
import { registerErase } from './commands/erase.js';
import { registerDemo } from './commands/demo.js';
import { registerKeys } from './commands/keys.js';
import { registerAudit } from './commands/audit.js';
import { registerSync } from './commands/sync.js';
import { registerHolder } from './commands/holder.js';
import { registerReset } from './commands/reset.js';

export function buildProgram(): Command {
  const program = new Command('registo')
    .description('Registo: event-sourced national identity register and trust services')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)');
  registerStart(program);
  registerSchemas(program);
  registerReplay(program);
  registerInfra(program);
  registerErase(program);
  registerKeys(program);
  registerAudit(program);
  registerSync(program);
  registerHolder(program);
  registerDemo(program);
  registerReset(program);
  registerBench(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
