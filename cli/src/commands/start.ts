import type { Command } from 'commander';
import { ROLES, ROLES_ALL, createLogger, variablesHelp } from '@registo/base';
import { loadConfig, maskSecrets } from '@registo/config';
import { startPlatform } from '../platform.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the platform: event store (embedded PGlite, or PostgreSQL when DATABASE_URL is set) and HTTP gateways')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)')
    .option('--data-dir <dir>', 'embedded data directory (env REGISTO_DATA_DIR, default ./data)')
    .option('--role <roles>', `comma-separated: all, ${ROLES.join(', ')} (env REGISTO_ROLES, default all)`)
    .addHelpText(
      'after',
      `
all = ${ROLES_ALL}.
The public URL (certificates' OCSP and CRL URLs, status lists, the audit origin) is REGISTO_PUBLIC_URL,
else http://<HOST or 127.0.0.1>:<PORT>; a start under another URL than the certificates in
<data dir>/trust name is refused (PUBLIC_URL_MISMATCH) and says how to re-run the key ceremony.

Environment (every variable the platform reads):
${variablesHelp()}

At start-up one log line, "what this platform uses", names the API tokens, the external systems
(simulated or not) and the key file in use, and warns when tokens or external systems are missing.
Stops cleanly on SIGINT (Ctrl-C) or SIGTERM.`,
    )
    .action(async (opts: { port?: string; dataDir?: string; role?: string }) => {
      const env = { ...process.env };
      if (opts.role) env.REGISTO_ROLES = opts.role;
      if (opts.port) env.PORT = opts.port;
      if (opts.dataDir) env.REGISTO_DATA_DIR = opts.dataDir;
      const config = loadConfig(env);
      process.stderr.write(`registo: configuration\n${JSON.stringify(maskSecrets(config), null, 2)}\n`);
      const logger = createLogger(config.logLevel);
      const platform = await startPlatform(config, logger);
      process.stderr.write(
        platform.url ? `registo: ready on ${platform.url} (GET /healthz, GET /readyz); roles ${config.roles.join(', ')}\n` : `registo: running roles ${config.roles.join(', ')}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ signal }, 'stopping');
          void platform.close().then(resolve, (e: unknown) => {
            logger.error({ err: e }, 'error while stopping');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
