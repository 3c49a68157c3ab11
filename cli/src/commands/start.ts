import type { Command } from 'commander';
import { createLogger, loadConfig, maskSecrets } from '@registo/infra';
import { startPlatform } from '../platform.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the platform: event store (embedded PGlite, or PostgreSQL when DATABASE_URL is set) and HTTP gateways')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)')
    .option('--data-dir <dir>', 'embedded data directory (env REGISTO_DATA_DIR, default ./data)')
    .option('--role <roles>', 'comma-separated: api, mirror, projector, process, credentials, checkpointer, or all (env REGISTO_ROLES, default all)')
    .addHelpText(
      'after',
      `
Environment:
  DATABASE_URL          postgres://user:pass@host:5432/db   use PostgreSQL instead of embedded PGlite
  EVENTSTORE_URL        esdb://host:2113?tls=false          use EventStoreDB / KurrentDB
  REGISTO_DATA_DIR      ./data                               where embedded PGlite keeps its files
  PORT, HOST            8080, 127.0.0.1 (0.0.0.0 on PostgreSQL with REGISTO_API_TOKENS)   where the API, /healthz and /readyz are served
  LOG_LEVEL             info                                 fatal|error|warn|info|debug|trace|silent
  REGISTO_DB_POOL_SIZE  10                                   PostgreSQL connections
  REGISTO_ROLES         all                                  api, mirror, projector, process, checkpointer (all = api + projector + process + checkpointer, + mirror with Kafka)
  KAFKA_BROKERS         127.0.0.1:9092                       consumers read Kafka topics; the mirror may run
  SCHEMA_REGISTRY_URL   http://127.0.0.1:8081/apis/ccompat/v7
  REGISTO_TOPIC_PARTITIONS 6                                 partitions of each category topic the mirror creates
  REGISTO_SIMULATORS    on when embedded, or on loopback without tokens or REGISTO_*_URL; else off   start the SIGA, Immigration and ABIS simulators in-process
  REGISTO_SIGA_PORT, REGISTO_IMMIGRATION_PORT, REGISTO_ABIS_PORT  8091, 8092, 8093  where the simulators listen (0: any free port)
  REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL, REGISTO_EXTERNAL_TOKEN   the real systems (process role, simulators off)
  REGISTO_KEYS_FILE     ./data/keys/software-keys.json       development keys (created on first start; see docs/identity-lifecycle.md)
  REGISTO_API_TOKENS    dev tokens when embedded or on loopback, else none  bearer tokens, token:id:role,... (roles identity_officer, adjudicator, registration_client, operator, auditor, approver, holder_channel, print_bureau)
  REGISTO_UIN_LENGTH    10                                   10 or 12 digits
  REGISTO_AUDIT_ORIGIN  <public host>/audit                  checkpoint origin and note key name; pinned by the first start (docs/audit.md)
  REGISTO_CHECKPOINT_EVERY, REGISTO_CHECKPOINT_INTERVAL_MS  10000, 1000  sign a checkpoint every N events or T ms
  REGISTO_AUDIT_WITNESSES  none                              witness verifier keys (name+keyid+base64) whose cosignatures are accepted
  REGISTO_REGISTRATION_CA_CERTS  (unset)                     qualified: PEM file of the registration-client CA certificates intake trusts; no development key file then, and no private key in any file (docs/trust-services.md)

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
