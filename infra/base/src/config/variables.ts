import { z } from 'zod';
import { RegistoError } from '@registo/schemas';

/** What one process can run (REGISTO_ROLES); see `ROLES_ALL` for what `all` means. */
export const ROLES = ['api', 'mirror', 'projector', 'process', 'checkpointer', 'credentials', 'sync'] as const;
export type Role = (typeof ROLES)[number];

/** What `all` runs, as `start --help` and the README say it. */
export const ROLES_ALL =
  'api + projector + credentials, + process and sync when SIGA/Immigration/ABIS are configured or simulated, + mirror with Kafka, + checkpointer on a SQL store';

/** One environment variable of the platform: how it is read and how it is documented. */
export interface ConfigVariable<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** The default as people read it (`start --help`, README). */
  default: string;
  description: string;
  /** The roles that read it; empty: the whole process (every role). */
  roles: readonly Role[];
}

const variable = <S extends z.ZodType>(schema: S, byDefault: string, description: string, roles: readonly Role[] = []): ConfigVariable<S> => ({
  schema,
  default: byDefault,
  description,
  roles,
});

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
// At most a week: CRLs are republished at least that often (and timers stay far below their 24.8-day limit).
const statusSeconds = (fallback: number) => z.coerce.number().int().positive().max(7 * 24 * 3600).default(fallback);

/**
 * Every variable the platform reads, in the order `start --help` and the README list them. The
 * readers (config.ts, signer-config.ts, the trust, status-service and Kafka settings) build their
 * schemas from this table, so the help cannot name a variable the code ignores or miss one it reads.
 */
export const VARIABLES = {
  // Where the events are kept.
  DATABASE_URL: variable(z.url({ protocol: /^postgres(ql)?$/ }).optional(), 'embedded PGlite', 'use PostgreSQL, postgres://user:pass@host:5432/db'),
  EVENTSTORE_URL: variable(
    z.string().regex(/^(esdb|kurrentdb|kdb)(\+discover)?:\/\//, 'esdb://host:port?tls=false').optional(),
    'unset',
    'use EventStoreDB / KurrentDB, esdb://host:2113?tls=false',
  ),
  REGISTO_DATA_DIR: variable(z.string().min(1).default('./data'), './data', 'embedded PGlite files, development keys, the trust folder (<data dir>/trust), the simulators\' state (<data dir>/simulators)'),
  REGISTO_DB_POOL_SIZE: variable(z.coerce.number().int().min(2).max(200).default(10), '10', 'PostgreSQL connections'),
  // Embedded store: at least one 16 MiB WAL segment and a margin; PGlite spins for good when it cannot create the next one.
  REGISTO_DISK_RESERVE_MB: variable(z.coerce.number().int().min(20).max(1_048_576).default(64), '64', 'embedded: free space kept on the data dir\'s disk; below it writes answer 503 STORE_UNAVAILABLE "disk full"'),
  REGISTO_STORE_STALL_MS: variable(
    z.coerce.number().int().refine((n) => n === 0 || n >= 1000, '0 or at least 1000').default(30_000),
    '30000',
    'embedded: a database call holding the event loop this long ends the process with exit code 75 (0: never)',
  ),
  // HTTP and the public URL.
  PORT: variable(port(8080), '8080', 'HTTP port of the API, /healthz and /readyz (0: any free port)'),
  // Default: 127.0.0.1 when embedded (development tokens, a local store), 0.0.0.0 otherwise.
  HOST: variable(z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional()), '127.0.0.1, or 0.0.0.0 on PostgreSQL with REGISTO_API_TOKENS', 'address the HTTP server listens on'),
  REGISTO_PUBLIC_URL: variable(
    z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
    'http://<HOST or 127.0.0.1>:<PORT>',
    'base of the CRL, OCSP and status-list URLs signed into certificates and credentials, and of the audit origin; start refuses a URL other than the one the certificates name (PUBLIC_URL_MISMATCH)',
  ),
  LOG_LEVEL: variable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'info', 'fatal, error, warn, info, debug, trace or silent'),
  REGISTO_ROLES: variable(z.string().regex(/^[a-z,]+$/, 'comma-separated roles').default('all'), 'all', `comma-separated: all, ${ROLES.join(', ')} (all = ${ROLES_ALL})`),
  REGISTO_API_TOKENS: variable(
    z.string().optional(),
    'development tokens when embedded or on loopback, else none',
    'bearer tokens token:id:role,… (roles identity_officer, adjudicator, registration_client, operator, auditor, approver, holder_channel, print_bureau)',
    ['api'],
  ),
  REGISTO_UIN_LENGTH: variable(z.enum(['10', '12']).default('10'), '10', '10 or 12 digits', ['process']),
  REGISTO_KEYS_FILE: variable(z.string().min(1).optional(), '<data dir>/keys/software-keys.json', 'development keys, created on first start (docs/keys.md)'),
  REGISTO_REGISTRATION_CA_CERTS: variable(
    z.string().min(1).optional(),
    'unset',
    'qualified: PEM file of the registration-client CA certificates intake trusts; no development key file then (docs/trust-services.md)',
    ['api'],
  ),
  // Kafka.
  KAFKA_BROKERS: variable(z.string().min(1).optional(), 'unset (consumers read the store)', 'comma-separated brokers, e.g. 127.0.0.1:9092: consumers read Kafka topics, the mirror may run'),
  SCHEMA_REGISTRY_URL: variable(z.url().optional(), 'http://127.0.0.1:<REGISTO_REGISTRY_PORT>/apis/ccompat/v7', 'Confluent-compatible schema registry'),
  REGISTO_KAFKA_PORT: variable(port(9092), '9092', 'port of the local broker (`registo infra up`) when KAFKA_BROKERS names none'),
  REGISTO_REGISTRY_PORT: variable(port(8081), '8081', 'port of the local schema registry when SCHEMA_REGISTRY_URL is unset'),
  KAFKA_CLIENT_ID: variable(z.string().min(1).default('registo'), 'registo', 'Kafka client id'),
  REGISTO_TOPIC_PREFIX: variable(
    z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/, "lower-case letters, digits, '_' or '-'").default('registo'),
    'registo',
    'first part of every topic, consumer group and transactional id (several logs on one cluster)',
  ),
  REGISTO_TOPIC_PARTITIONS: variable(z.coerce.number().int().min(1).max(1000).default(6), '6', 'partitions of each category topic the mirror creates', ['mirror']),
  // The external systems.
  REGISTO_SIMULATORS: variable(z.enum(['on', 'off']).optional(), 'on when embedded, or on loopback without tokens or REGISTO_*_URL; else off', 'start the SIGA, Immigration and ABIS simulators in-process'),
  REGISTO_SIGA_PORT: variable(port(8091), '8091', 'where the SIGA simulator listens (0: any free port)'),
  REGISTO_IMMIGRATION_PORT: variable(port(8092), '8092', 'where the Immigration simulator listens'),
  REGISTO_ABIS_PORT: variable(port(8093), '8093', 'where the ABIS simulator listens'),
  REGISTO_SIGA_URL: variable(z.url().optional(), 'unset', 'the real SIGA (with the Immigration and ABIS URLs and the token; simulators off)', ['process', 'sync']),
  REGISTO_IMMIGRATION_URL: variable(z.url().optional(), 'unset', 'the real Immigration service', ['process', 'sync']),
  REGISTO_ABIS_URL: variable(z.url().optional(), 'unset', 'the real ABIS', ['process']),
  REGISTO_EXTERNAL_TOKEN: variable(z.string().min(1).optional(), 'unset', 'bearer token for SIGA, Immigration and the ABIS', ['process', 'sync']),
  REGISTO_EXTERNAL_TIMEOUT_MS: variable(z.coerce.number().int().min(50).max(120_000).default(5_000), '5000', 'timeout of each call to an external system', ['process']),
  // External sync (docs/sync.md).
  REGISTO_SIGA_SYNC_TOKEN: variable(z.string().min(1).optional(), 'REGISTO_EXTERNAL_TOKEN', "SIGA's sync service account", ['sync']),
  REGISTO_IMMIGRATION_SYNC_TOKEN: variable(z.string().min(1).optional(), 'REGISTO_EXTERNAL_TOKEN', "Immigration's sync service account", ['sync']),
  REGISTO_SYNC_RETRY_DELAYS_MS: variable(
    z.string().regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds').default('1000,10000,60000'),
    '1000,10000,60000',
    'delay before each retry step, then the dead-letter topic',
    ['sync'],
  ),
  REGISTO_SYNC_RATE_PER_SECOND: variable(z.coerce.number().min(1).max(10_000).default(100), '100', 'syncs per second to each system', ['sync']),
  REGISTO_SYNC_TIMEOUT_MS: variable(z.coerce.number().int().min(50).max(120_000).default(5_000), '5000', 'timeout of one sync call', ['sync']),
  REGISTO_SYNC_BREAKER_THRESHOLD: variable(z.coerce.number().int().min(1).max(1000).default(5), '5', 'failures in a row that open the circuit breaker', ['sync']),
  REGISTO_SYNC_BREAKER_OPEN_MS: variable(z.coerce.number().int().min(100).max(600_000).default(5_000), '5000', 'how long the breaker stays open', ['sync']),
  REGISTO_SYNC_SESSION_TIMEOUT_MS: variable(
    z.coerce.number().int().min(6_000).max(300_000).default(10_000),
    '10000',
    "Kafka group session timeout of the sync consumers (how soon a crashed one's partitions move)",
    ['sync'],
  ),
  REGISTO_SYNC_POLL_MS: variable(z.coerce.number().int().min(100).max(86_400_000).default(30_000), '30000', 'how often pending syncs are polled', ['sync']),
  REGISTO_RECONCILE_INTERVAL_MS: variable(z.coerce.number().int().min(0).max(7 * 86_400_000).default(86_400_000), '86400000', 'scheduled reconciliation (0: on demand only)', ['sync']),
  // The audit log (docs/audit.md).
  REGISTO_AUDIT_ORIGIN: variable(
    z.string().regex(/^[^\s+]+$/, 'no spaces or +').optional(),
    '<public URL host>/audit',
    'checkpoint origin and note key name; pinned by the first start',
    ['checkpointer', 'api'],
  ),
  REGISTO_CHECKPOINT_EVERY: variable(z.coerce.number().int().min(1).default(10_000), '10000', 'sign a checkpoint every N events…', ['checkpointer']),
  REGISTO_CHECKPOINT_INTERVAL_MS: variable(z.coerce.number().int().min(10).default(1_000), '1000', '…or every T ms', ['checkpointer']),
  REGISTO_AUDIT_WITNESSES: variable(z.string().optional(), 'none', 'witness verifier keys (name+keyid+base64) whose cosignatures are accepted', ['checkpointer', 'api']),
  // Trust services (docs/trust-services.md).
  REGISTO_SIGNER_MODE: variable(
    z.enum(['qualified', 'non_qualified']).default('non_qualified'),
    'non_qualified',
    'qualified: keys only in the PKCS#11 token, no software fallback; non_qualified: software keys, labelled so',
  ),
  REGISTO_PKCS11_MODULE: variable(z.string().min(1).optional(), 'unset', 'path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so (required when qualified)'),
  REGISTO_PKCS11_TOKEN: variable(z.string().min(1).max(32, 'a PKCS#11 token label has at most 32 characters').optional(), 'unset', 'label of the token (required when qualified)'),
  REGISTO_PKCS11_PIN: variable(z.string().min(4, 'a PKCS#11 PIN has at least 4 characters').optional(), 'unset', 'user PIN of the token (required when qualified)'),
  SOFTHSM2_CONF: variable(z.string().min(1).optional(), 'unset', 'for SoftHSM2: the configuration naming the token directory'),
  REGISTO_CRL_INTERVAL_S: variable(statusSeconds(3600), '3600', 'seconds between scheduled CRLs (and new delta bases)', ['credentials']),
  REGISTO_OCSP_VALIDITY_S: variable(statusSeconds(600), '600', 'nextUpdate − thisUpdate of OCSP answers', ['credentials']),
  REGISTO_OCSP_MAX_AGE_S: variable(statusSeconds(60), '60', 'longest reuse of a signed OCSP answer (and its HTTP max-age); at most REGISTO_OCSP_VALIDITY_S', ['credentials']),
} satisfies Record<string, ConfigVariable>;

export type VariableName = keyof typeof VARIABLES;
export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

type ShapeOf<K extends VariableName> = { [P in K]: (typeof VARIABLES)[P]['schema'] };

/** The zod schema of some of the table's variables: what each reader parses. */
export function schemaOf<K extends VariableName>(names: readonly K[]): z.ZodObject<ShapeOf<K>> {
  return z.object(Object.fromEntries(names.map((n) => [n, VARIABLES[n].schema])) as ShapeOf<K>);
}

/**
 * The one shape of a configuration refusal: every problem on its own line of the message, and
 * the same list in `details.problems` (`shown` when the message words them for people).
 */
export function invalidConfiguration(problems: readonly string[], shown: readonly string[] = problems): RegistoError {
  return new RegistoError('CONFIG_INVALID', `invalid configuration:\n  ${shown.join('\n  ')}`, { problems: [...problems] });
}

/** Reads some of the table's variables from `env`; a malformed one is CONFIG_INVALID naming every problem. */
export function readVariables<K extends VariableName>(names: readonly K[], env: NodeJS.ProcessEnv): z.infer<z.ZodObject<ShapeOf<K>>> {
  const parsed = schemaOf(names).safeParse(env);
  if (!parsed.success) throw invalidConfiguration(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

const rolesOf = (v: ConfigVariable): string => (v.roles.length === 0 ? 'all' : v.roles.join(', '));

/** The table as `registo start --help` prints it: name and default on one line, what it does on the next. */
export function variablesHelp(): string {
  return VARIABLE_NAMES.map((name) => {
    const v: ConfigVariable = VARIABLES[name];
    return `  ${name}  (default: ${v.default}; roles: ${rolesOf(v)})\n      ${v.description}`;
  }).join('\n');
}

/** The table as the README lists it (checked by a spec against README.md). */
export function variablesMarkdown(): string {
  // Escaped so that `<data dir>` and `a|b` stay text in a table cell.
  const cell = (s: string): string => s.replace(/[|<>]/g, (c) => `\\${c}`);
  const rows = VARIABLE_NAMES.map((name) => {
    const v: ConfigVariable = VARIABLES[name];
    return `| \`${name}\` | ${cell(v.default)} | ${cell(rolesOf(v))} | ${cell(v.description)} |`;
  });
  return ['| variable | default | roles | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
