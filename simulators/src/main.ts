import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AbisGallery, createAbisServer } from './abis.js';
import { DEFAULT_ADMIN_TOKEN, DEFAULT_SERVICE_TOKEN } from './app.js';
import { FaultInjector, type FaultSettings } from './faults.js';
import { createImmigrationServer } from './immigration.js';
import { createPopulation, type PopulationOptions } from './population.js';
import { createSigaLedger, createSigaServer } from './siga.js';
import { createImmigrationLedger } from './immigration.js';
import { keepSimulatorState } from './state.js';
import type { SyncLedger } from './sync-ledger.js';

export const DEFAULT_SIGA_PORT = 8091;
export const DEFAULT_IMMIGRATION_PORT = 8092;
export const DEFAULT_ABIS_PORT = 8093;
export const DEFAULT_HOST = '127.0.0.1';

export interface StartSimulatorsOptions extends PopulationOptions {
  /** 0 picks a free port (what tests want). */
  sigaPort?: number;
  immigrationPort?: number;
  /**
   * Default DEFAULT_ABIS_PORT, or 0 when SIGA and Immigration were both asked for free ports:
   * callers written before the ABIS existed must not start colliding on 8093.
   */
  abisPort?: number;
  /** The ABIS match threshold, default DEFAULT_MATCH_THRESHOLD (0.9). */
  abisThreshold?: number;
  host?: string;
  token?: string;
  /** The bearer token of every /_admin route (default DEFAULT_ADMIN_TOKEN); must differ from `token`. */
  adminToken?: string;
  sigaFaults?: Partial<FaultSettings>;
  immigrationFaults?: Partial<FaultSettings>;
  abisFaults?: Partial<FaultSettings>;
  logger?: boolean;
  /**
   * Where the simulators journal what they hold (state.ts), replayed at start: the ABIS gallery,
   * SIGA's and Immigration's records, idempotency answers and change feeds. Without it they
   * start empty and forget everything when they stop.
   */
  stateDir?: string;
}

export interface RunningSimulators {
  sigaUrl: string;
  immigrationUrl: string;
  abisUrl: string;
  token: string;
  /** What /_admin/* requests must carry as their bearer token. */
  adminToken: string;
  /** Direct handles on the knobs, for in-process callers; HTTP callers use /_admin/faults. */
  sigaFaults: FaultInjector;
  immigrationFaults: FaultInjector;
  abisFaults: FaultInjector;
  /** What SIGA and Immigration hold about the platform's identities (status updates, change feed, export). */
  sigaLedger: SyncLedger;
  immigrationLedger: SyncLedger;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance, port: number, host: string): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address() as AddressInfo;
  return `http://${host}:${address.port}`;
}

function abisPortOf(options: StartSimulatorsOptions): number {
  if (options.abisPort !== undefined) return options.abisPort;
  return options.sigaPort === 0 && options.immigrationPort === 0 ? 0 : DEFAULT_ABIS_PORT;
}

/**
 * Starts SIGA and Immigration over one shared population, so a person exists in one place
 * only, and the ABIS beside them.
 */
export async function startSimulators(options: StartSimulatorsOptions = {}): Promise<RunningSimulators> {
  const host = options.host ?? DEFAULT_HOST;
  const token = options.token ?? DEFAULT_SERVICE_TOKEN;
  const adminToken = options.adminToken ?? DEFAULT_ADMIN_TOKEN;
  const population = createPopulation(options);
  const sigaFaults = new FaultInjector(options.sigaFaults);
  const immigrationFaults = new FaultInjector(options.immigrationFaults);
  const abisFaults = new FaultInjector(options.abisFaults);
  const logger = options.logger ?? false;
  const sigaLedger = createSigaLedger(population);
  const immigrationLedger = createImmigrationLedger(population);
  const gallery = new AbisGallery(options.abisThreshold);
  // Replayed before any server listens, so nobody is answered from a half-restored state.
  const state = options.stateDir ? await keepSimulatorState(options.stateDir, { sigaLedger, immigrationLedger, gallery }) : undefined;
  const siga = createSigaServer({ population, token, adminToken, faults: sigaFaults, logger, ledger: sigaLedger });
  const immigration = createImmigrationServer({ population, token, adminToken, faults: immigrationFaults, logger, ledger: immigrationLedger });
  const abis = createAbisServer({ token, adminToken, faults: abisFaults, logger, gallery });
  const all = [siga, immigration, abis];
  try {
    const sigaUrl = await listen(siga, options.sigaPort ?? DEFAULT_SIGA_PORT, host);
    const immigrationUrl = await listen(immigration, options.immigrationPort ?? DEFAULT_IMMIGRATION_PORT, host);
    const abisUrl = await listen(abis, abisPortOf(options), host);
    return {
      sigaUrl,
      immigrationUrl,
      abisUrl,
      token,
      adminToken,
      sigaFaults,
      immigrationFaults,
      abisFaults,
      sigaLedger,
      immigrationLedger,
      async close() {
        sigaLedger.webhook.url = null;
        immigrationLedger.webhook.url = null;
        await Promise.all([sigaLedger.settle(), immigrationLedger.settle()]);
        await Promise.all(all.map((app) => app.close()));
        await state?.close();
      },
    };
  } catch (e) {
    await Promise.allSettled(all.map((app) => app.close()));
    await state?.close();
    throw e;
  }
}

function portFrom(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

function flag(argv: readonly string[], name: string): string | undefined {
  const index = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (index < 0) return undefined;
  const arg = argv[index] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
}

/** Command-line flags win over the environment, which wins over the defaults. */
export function simulatorOptionsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): StartSimulatorsOptions {
  const seed = flag(argv, '--seed') ?? env.REGISTO_SIMULATOR_SEED;
  const token = env.REGISTO_SIMULATOR_TOKEN;
  const adminToken = env.REGISTO_SIMULATOR_ADMIN_TOKEN;
  // Left out when not given, so startSimulators' default applies (free port when the others are 0).
  const abisPort = flag(argv, '--abis-port') ?? env.REGISTO_ABIS_PORT;
  const stateDir = flag(argv, '--state-dir') ?? env.REGISTO_SIMULATOR_STATE_DIR;
  return {
    sigaPort: portFrom(flag(argv, '--siga-port') ?? env.REGISTO_SIGA_PORT, 'SIGA port', DEFAULT_SIGA_PORT),
    immigrationPort: portFrom(
      flag(argv, '--immigration-port') ?? env.REGISTO_IMMIGRATION_PORT,
      'immigration port',
      DEFAULT_IMMIGRATION_PORT,
    ),
    ...(abisPort !== undefined && abisPort !== '' && { abisPort: portFrom(abisPort, 'ABIS port', DEFAULT_ABIS_PORT) }),
    host: flag(argv, '--host') ?? DEFAULT_HOST,
    ...(seed !== undefined && { seed: Number(seed) }),
    ...(token !== undefined && token !== '' && { token }),
    ...(adminToken !== undefined && adminToken !== '' && { adminToken }),
    ...(stateDir !== undefined && stateDir !== '' && { stateDir }),
  };
}

/** The `registo-simulators` command: starts them all, says where, stops cleanly on a signal. */
export async function runSimulatorsCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const running = await startSimulators(simulatorOptionsFrom(argv, env));
  console.log(`SIGA simulator listening on ${running.sigaUrl}`);
  console.log(`Immigration simulator listening on ${running.immigrationUrl}`);
  console.log(`ABIS simulator listening on ${running.abisUrl}`);
  const stop = (signal: string): void => {
    console.log(`${signal}: stopping simulators`);
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
