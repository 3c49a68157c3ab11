import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfraError } from './errors.js';

/** The components `infraUp` manages. */
export type InfraComponentName = 'kafka' | 'registry';

export const INFRA_COMPONENTS: readonly InfraComponentName[] = ['kafka', 'registry'];

/** Pinned versions; override with options or REGISTO_KAFKA_VERSION / REGISTO_REGISTRY_VERSION. */
export const DEFAULT_KAFKA_VERSION = '3.9.2';
export const DEFAULT_REGISTRY_VERSION = '3.3.3';

/** Everything binds to loopback only. */
export const INFRA_HOST = '127.0.0.1';

export interface InfraOptions {
  /** Logs, pid files, configs and Kafka data. Default: env REGISTO_STATE_DIR, else `<cwd>/.registo`. */
  stateDir?: string;
  /** Downloaded distributions. Default: env REGISTO_CACHE_DIR, else `~/.cache/registo`. */
  cacheDir?: string;
  /** Kafka PLAINTEXT listener. Default: env REGISTO_KAFKA_PORT, else 9092. */
  kafkaPort?: number;
  /** KRaft controller listener. Default: env REGISTO_KAFKA_CONTROLLER_PORT, else kafkaPort + 1. */
  kafkaControllerPort?: number;
  /** Apicurio HTTP port. Default: env REGISTO_REGISTRY_PORT, else 8081. */
  registryPort?: number;
  /** Quarkus management interface (health, metrics). Default: env REGISTO_REGISTRY_MANAGEMENT_PORT, else registryPort + 1000. */
  registryManagementPort?: number;
  /** org.apache.kafka:kafka_2.13 version. Default: env REGISTO_KAFKA_VERSION, else {@link DEFAULT_KAFKA_VERSION}. */
  kafkaVersion?: string;
  /** io.apicurio:apicurio-registry-app version. Default: env REGISTO_REGISTRY_VERSION, else {@link DEFAULT_REGISTRY_VERSION}. */
  registryVersion?: string;
  /** Limit the call to some components (default: all). */
  only?: readonly InfraComponentName[];
  /** Human-readable progress lines (fetching…, starting…, ready in N s). */
  onProgress?: (message: string) => void;
}

export interface InfraUpOptions extends InfraOptions {
  /** How long each component may take to become ready once spawned. Default 120 000 ms. */
  startTimeoutMs?: number;
  /** How long one Maven fetch may take. Default 30 min. */
  fetchTimeoutMs?: number;
}

export interface InfraDownOptions extends InfraOptions {
  /** Also delete the Kafka data directory (topics, offsets, cluster id). */
  purge?: boolean;
  /** Time between SIGTERM and SIGKILL. Default 30 000 ms. */
  graceMs?: number;
}

/** Fully resolved settings shared by all components. */
export interface InfraConfig {
  stateDir: string;
  cacheDir: string;
  logsDir: string;
  host: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  registryManagementPort: number;
  kafkaVersion: string;
  registryVersion: string;
  components: readonly InfraComponentName[];
  progress: (message: string) => void;
}

function portFrom(name: string, optionValue: number | undefined, envName: string, fallback: number): number {
  const raw = optionValue ?? (process.env[envName]?.trim() ? Number(process.env[envName]) : fallback);
  if (!Number.isInteger(raw) || raw < 1 || raw > 65535) {
    throw new InfraError(
      `Invalid ${name}: ${String(optionValue ?? process.env[envName])} (from ${optionValue !== undefined ? 'options' : envName}); expected an integer 1-65535`,
    );
  }
  return raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

export function resolveConfig(options: InfraOptions = {}): InfraConfig {
  const stateDir = resolve(nonEmpty(options.stateDir) ?? nonEmpty(process.env.REGISTO_STATE_DIR) ?? join(process.cwd(), '.registo'));
  const cacheDir = resolve(nonEmpty(options.cacheDir) ?? nonEmpty(process.env.REGISTO_CACHE_DIR) ?? join(homedir(), '.cache', 'registo'));
  const kafkaPort = portFrom('Kafka port', options.kafkaPort, 'REGISTO_KAFKA_PORT', 9092);
  const kafkaControllerPort = portFrom('Kafka controller port', options.kafkaControllerPort, 'REGISTO_KAFKA_CONTROLLER_PORT', kafkaPort + 1);
  const registryPort = portFrom('registry port', options.registryPort, 'REGISTO_REGISTRY_PORT', 8081);
  const registryManagementPort = portFrom(
    'registry management port',
    options.registryManagementPort,
    'REGISTO_REGISTRY_MANAGEMENT_PORT',
    registryPort + 1000,
  );
  const ports = [kafkaPort, kafkaControllerPort, registryPort, registryManagementPort];
  if (new Set(ports).size !== ports.length) {
    throw new InfraError(
      `Port clash in configuration: kafka=${kafkaPort}, kafka controller=${kafkaControllerPort}, registry=${registryPort}, registry management=${registryManagementPort} must all differ`,
    );
  }
  const onProgress = options.onProgress;
  const unknown = (options.only ?? []).filter((c) => !INFRA_COMPONENTS.includes(c));
  if (unknown.length) {
    throw new InfraError(`Unknown component(s): ${unknown.join(', ')}; known: ${INFRA_COMPONENTS.join(', ')}`);
  }
  const components = options.only?.length ? INFRA_COMPONENTS.filter((c) => options.only?.includes(c)) : INFRA_COMPONENTS;
  return {
    stateDir,
    cacheDir,
    logsDir: join(stateDir, 'logs'),
    host: INFRA_HOST,
    kafkaPort,
    kafkaControllerPort,
    registryPort,
    registryManagementPort,
    kafkaVersion: nonEmpty(options.kafkaVersion) ?? nonEmpty(process.env.REGISTO_KAFKA_VERSION) ?? DEFAULT_KAFKA_VERSION,
    registryVersion: nonEmpty(options.registryVersion) ?? nonEmpty(process.env.REGISTO_REGISTRY_VERSION) ?? DEFAULT_REGISTRY_VERSION,
    components,
    progress: (message) => {
      try {
        onProgress?.(message);
      } catch {
        // a failing progress printer must not break infra management
      }
    },
  };
}
