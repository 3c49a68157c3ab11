import { resolve } from 'node:path';
import type { z } from 'zod';
import type { EventStoreTarget } from '@registo/event-store';
import { type KafkaSettings, kafkaSettings } from '@registo/messaging';
import { type SignerConfig, loadSignerConfig } from '@registo/hsm';
import { type StatusServicesConfig, loadStatusServicesConfig, loadTrustConfig } from '@registo/trust';
import { ROLES, type Role, VARIABLES, invalidConfiguration, readVariables, isLoopbackHost } from '@registo/base';

/**
 * Everything the platform reads from its environment (the table in variables.ts), validated once
 * at start-up. Unknown REGISTO_* variables are not an error, but a malformed known one stops start-up.
 */
const CONFIG_VARIABLES = [
  'DATABASE_URL', 'EVENTSTORE_URL', 'REGISTO_DATA_DIR', 'PORT', 'HOST', 'LOG_LEVEL', 'REGISTO_DB_POOL_SIZE', 'REGISTO_DISK_RESERVE_MB', 'REGISTO_STORE_STALL_MS', 'REGISTO_ROLES', 'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL',
  'REGISTO_SIMULATORS', 'REGISTO_SIGA_PORT', 'REGISTO_IMMIGRATION_PORT', 'REGISTO_ABIS_PORT', 'REGISTO_SIGA_URL', 'REGISTO_IMMIGRATION_URL', 'REGISTO_ABIS_URL',
  'REGISTO_EXTERNAL_TOKEN', 'REGISTO_EXTERNAL_TIMEOUT_MS', 'REGISTO_KEYS_FILE', 'REGISTO_API_TOKENS', 'REGISTO_UIN_LENGTH', 'REGISTO_AUDIT_ORIGIN', 'REGISTO_CHECKPOINT_EVERY',
  'REGISTO_CHECKPOINT_INTERVAL_MS', 'REGISTO_AUDIT_WITNESSES', 'REGISTO_REGISTRATION_CA_CERTS', 'REGISTO_SIGA_SYNC_TOKEN', 'REGISTO_IMMIGRATION_SYNC_TOKEN',
  'REGISTO_SYNC_RETRY_DELAYS_MS', 'REGISTO_SYNC_RATE_PER_SECOND', 'REGISTO_SYNC_TIMEOUT_MS', 'REGISTO_SYNC_BREAKER_THRESHOLD', 'REGISTO_SYNC_BREAKER_OPEN_MS',
  'REGISTO_SYNC_SESSION_TIMEOUT_MS', 'REGISTO_SYNC_POLL_MS', 'REGISTO_RECONCILE_INTERVAL_MS',
] as const;

/** Bearer tokens of the embedded development platform (token:id:role); never used when REGISTO_API_TOKENS is set. */
export const DEV_API_TOKENS =
  'dev-officer:officer-1:identity_officer,dev-adjudicator:adjudicator-1:adjudicator,dev-client:registration-client-1:registration_client,dev-operator:operator-1:operator,dev-auditor:auditor-1:auditor,' +
  'dev-approver:approver-1:approver,dev-holder-channel:holder-channel-1:holder_channel,dev-print-bureau:print-bureau-1:print_bureau';


export interface RegistoConfig {
  eventStore: EventStoreTarget;
  roles: Role[];
  /** Set when KAFKA_BROKERS is: consumers read topics and the mirror may run; otherwise consumers read the store. */
  kafka: KafkaSettings | null;
  /** SIGA and Immigration simulators to start in-process (embedded mode, by default), or null. */
  simulators: { sigaPort: number; immigrationPort: number; abisPort: number } | null;
  http: { port: number; host: string };
  /** Where SIGA, Immigration and the ABIS answer (null: the simulators', known once they start). */
  external: { sigaUrl: string; immigrationUrl: string; abisUrl: string; token: string; timeoutMs: number } | null;
  externalTimeoutMs: number;
  /** The development key file (created on first start); see docs/keys.md. */
  keysFile: string;
  apiTokens: string;
  uinLength: 10 | 12;
  /** Trust-services signer mode and, in qualified mode, the PKCS#11 token (signer-config.ts). */
  signer: SignerConfig;
  /** `REGISTO_DATA_DIR`: the embedded store, development keys and the trust folder (`<dataDir>/trust`). */
  dataDir: string;
  /** `REGISTO_PUBLIC_URL`, else http://<HOST or 127.0.0.1>:<PORT>: base of the CRL, OCSP and status-list URLs signed into certificates and credentials. */
  publicUrl: string;
  /**
   * `REGISTO_REGISTRATION_CA_CERTS`: a PEM file of the registration-client CA certificates intake
   * trusts. In qualified mode it replaces the development key file: the platform then holds no CA
   * private key and no software key at all (the intake key is the token's `registo-intake`).
   */
  registrationCaCertificates?: string;
  logLevel: z.infer<(typeof VARIABLES)['LOG_LEVEL']['schema']>;
  /** Checkpoints (docs/audit.md): origin line and key name (default `<public host>/audit`), every N events or T ms. */
  audit: { origin: string; originExplicit: boolean; checkpointEvery: number; checkpointIntervalMs: number; witnessKeys: string[] };
  /** External sync settings (the sync role, the webhook routes, `registo sync|reconcile`). */
  sync: SyncConfig;
  /** OCSP and CRL timing (the api role's status services). */
  statusServices: StatusServicesConfig;
}

export interface SyncConfig {
  /** Per-integration service-account tokens; null: the external token (or the simulators'). */
  sigaToken: string | null;
  immigrationToken: string | null;
  /** Delay before each retry step (`registo.sync.<system>.retry.<n>`); then the DLQ. */
  retryDelaysMs: number[];
  ratePerSecond: number;
  timeoutMs: number;
  breakerThreshold: number;
  breakerOpenMs: number;
  /** Kafka group session timeout of the sync consumers: how soon a crashed one's partitions move. */
  sessionTimeoutMs: number;
  pollMs: number;
  /** 0: no scheduled reconciliation (on demand only). */
  reconcileIntervalMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegistoConfig {
  const c = readVariables(CONFIG_VARIABLES, env);
  const eventStore: EventStoreTarget =
    c.EVENTSTORE_URL ? { kind: 'eventstoredb', url: c.EVENTSTORE_URL }
    : c.DATABASE_URL ? { kind: 'postgres', url: c.DATABASE_URL, maxConnections: c.REGISTO_DB_POOL_SIZE }
    : { kind: 'pglite', dataDir: resolve(c.REGISTO_DATA_DIR), diskReserveBytes: c.REGISTO_DISK_RESERVE_MB * 1024 * 1024, stallMs: c.REGISTO_STORE_STALL_MS };
  const kafka = c.KAFKA_BROKERS ? kafkaSettings(env) : null;
  const { publicUrl } = loadTrustConfig(env);
  const asked = c.REGISTO_ROLES.split(',').filter(Boolean);
  const unknown = asked.filter((r) => r !== 'all' && !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw invalidConfiguration([`REGISTO_ROLES: unknown ${unknown.join(', ')}`], [`REGISTO_ROLES: unknown role(s) ${unknown.join(', ')}; known: all, ${ROLES.join(', ')}`]);
  }
  // A platform without tokens of its own is a development platform: it listens to this machine
  // only (unless HOST says otherwise) and, there, answers the development tokens and simulates
  // the external systems it was given no address for — so the README's PostgreSQL recipe works
  // as written on loopback. `registo start` logs what it uses (platform.ts, "what this platform uses").
  const host = c.HOST ?? (eventStore.kind === 'pglite' || c.REGISTO_API_TOKENS === undefined ? '127.0.0.1' : '0.0.0.0');
  const development = eventStore.kind === 'pglite' || (c.REGISTO_API_TOKENS === undefined && isLoopbackHost(host));
  const noExternalUrls = [c.REGISTO_SIGA_URL, c.REGISTO_IMMIGRATION_URL, c.REGISTO_ABIS_URL].every((u) => u === undefined);
  const simulate = (c.REGISTO_SIMULATORS ?? (eventStore.kind === 'pglite' || (development && noExternalUrls) ? 'on' : 'off')) === 'on';
  const simulators = simulate ? { sigaPort: c.REGISTO_SIGA_PORT, immigrationPort: c.REGISTO_IMMIGRATION_PORT, abisPort: c.REGISTO_ABIS_PORT } : null;
  const urls = [c.REGISTO_SIGA_URL, c.REGISTO_IMMIGRATION_URL, c.REGISTO_ABIS_URL, c.REGISTO_EXTERNAL_TOKEN];
  const external = simulators || urls.some((u) => u === undefined)
    ? null
    : { sigaUrl: c.REGISTO_SIGA_URL!, immigrationUrl: c.REGISTO_IMMIGRATION_URL!, abisUrl: c.REGISTO_ABIS_URL!, token: c.REGISTO_EXTERNAL_TOKEN!, timeoutMs: c.REGISTO_EXTERNAL_TIMEOUT_MS };
  // `all` runs the enrollment process only where it has systems to ask (simulators or real ones).
  const canProcess = simulators !== null || external !== null;
  // The checkpointer keeps its tree in SQL: `all` runs it on PostgreSQL and PGlite.
  const sqlStore = eventStore.kind !== 'eventstoredb';
  const roles: Role[] = asked.includes('all')
    ? ['api', 'projector', 'credentials', ...(canProcess ? (['process', 'sync'] as const) : []), ...(kafka ? (['mirror'] as const) : []), ...(sqlStore ? (['checkpointer'] as const) : [])]
    : (asked as Role[]);
  if (roles.includes('mirror') && !kafka) {
    throw invalidConfiguration(['mirror needs KAFKA_BROKERS'], ['REGISTO_ROLES: the mirror role needs KAFKA_BROKERS']);
  }
  return {
    eventStore,
    roles,
    kafka,
    simulators,
    // Embedded mode answers the published development tokens: it listens to this machine only unless the operator says otherwise.
    http: { port: c.PORT, host },
    external,
    externalTimeoutMs: c.REGISTO_EXTERNAL_TIMEOUT_MS,
    keysFile: resolve(c.REGISTO_KEYS_FILE ?? `${c.REGISTO_DATA_DIR}/keys/software-keys.json`),
    apiTokens: c.REGISTO_API_TOKENS ?? (development ? DEV_API_TOKENS : ''),
    uinLength: Number(c.REGISTO_UIN_LENGTH) as 10 | 12,
    signer: loadSignerConfig(env),
    dataDir: resolve(c.REGISTO_DATA_DIR),
    publicUrl,
    ...(c.REGISTO_REGISTRATION_CA_CERTS && { registrationCaCertificates: resolve(c.REGISTO_REGISTRATION_CA_CERTS) }),
    logLevel: c.LOG_LEVEL,
    audit: {
      // Only the first start's: the log keeps the origin it was pinned to (infra/audit/src/log-origin.ts).
      origin: c.REGISTO_AUDIT_ORIGIN ?? `${new URL(publicUrl).host}/audit`,
      originExplicit: c.REGISTO_AUDIT_ORIGIN !== undefined,
      checkpointEvery: c.REGISTO_CHECKPOINT_EVERY,
      checkpointIntervalMs: c.REGISTO_CHECKPOINT_INTERVAL_MS,
      witnessKeys: (c.REGISTO_AUDIT_WITNESSES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    },
    sync: {
      sigaToken: c.REGISTO_SIGA_SYNC_TOKEN ?? null,
      immigrationToken: c.REGISTO_IMMIGRATION_SYNC_TOKEN ?? null,
      retryDelaysMs: c.REGISTO_SYNC_RETRY_DELAYS_MS.split(',').map(Number),
      ratePerSecond: c.REGISTO_SYNC_RATE_PER_SECOND,
      timeoutMs: c.REGISTO_SYNC_TIMEOUT_MS,
      breakerThreshold: c.REGISTO_SYNC_BREAKER_THRESHOLD,
      breakerOpenMs: c.REGISTO_SYNC_BREAKER_OPEN_MS,
      sessionTimeoutMs: c.REGISTO_SYNC_SESSION_TIMEOUT_MS,
      pollMs: c.REGISTO_SYNC_POLL_MS,
      reconcileIntervalMs: c.REGISTO_RECONCILE_INTERVAL_MS,
    },
    statusServices: loadStatusServicesConfig(env),
  };
}


/** Replaces the password of any URL-looking value, and any token or PIN, with ***. */
export function maskSecrets<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (k, v: unknown) => {
      if (typeof v === 'string' && /(token|tokens|pin)$/i.test(k) && v.length > 0) return '***';
      if (typeof v !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v;
      try {
        const u = new URL(v);
        if (u.password) u.password = '***';
        return u.toString();
      } catch {
        return v;
      }
    }),
  ) as T;
}
export * from './platform-keys.js';
