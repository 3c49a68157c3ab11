import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertStartable,
  componentStatus,
  ensureRunningReady,
  launch,
  stopComponent,
  type ComponentDriver,
  type ComponentStatus,
  type StartOutcome,
  type StopOutcome,
} from './component.js';
import {
  resolveConfig,
  type InfraComponentName,
  type InfraConfig,
  type InfraDownOptions,
  type InfraOptions,
  type InfraUpOptions,
} from './config.js';
import { InfraError } from './errors.js';
import { kafkaDriver } from './kafka.js';
import { seconds } from './proc.js';
import { CCOMPAT_PATH, httpGet, registryDriver } from './registry.js';
import { kafkaMetadata } from './kafka-protocol.js';
import { withLock } from './lock.js';

export interface InfraStatus {
  stateDir: string;
  cacheDir: string;
  components: ComponentStatus[];
}

export interface InfraUpResult extends InfraStatus {
  /** Components this call spawned. */
  started: InfraComponentName[];
  /** Components that were already running (from this state dir) and were left alone. */
  alreadyRunning: InfraComponentName[];
  /** Wall time of the whole call, fetches included. */
  elapsedMs: number;
}

export interface InfraDownResult {
  stateDir: string;
  components: StopOutcome[];
  /** Folders deleted because of `purge: true`. */
  purged: string[];
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const DEFAULT_FETCH_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_GRACE_MS = 30_000;

function drivers(cfg: InfraConfig): ComponentDriver[] {
  const all = [kafkaDriver(cfg), registryDriver(cfg)];
  return all.filter((d) => cfg.components.includes(d.name));
}

function stateLock<T>(cfg: InfraConfig, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return withLock(join(cfg.stateDir, '.lock'), `another \`registo infra\` command on ${cfg.stateDir}`, timeoutMs, cfg.progress, fn);
}

function errorText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

function combine(errors: unknown[]): InfraError {
  if (errors.length === 1 && errors[0] instanceof InfraError) return errors[0];
  const logFile = errors.find((e): e is InfraError => e instanceof InfraError && e.logFile !== undefined)?.logFile;
  return new InfraError(errors.map(errorText).join('\n\n'), { logFile, cause: errors[0] });
}

/**
 * Fetches (first time only) and starts the local Kafka broker and Apicurio Registry, waiting until both are
 * ready. Components already running from this state dir are left alone, so calling it twice is cheap.
 */
export async function infraUp(options: InfraUpOptions = {}): Promise<InfraUpResult> {
  const cfg = resolveConfig(options);
  const startTimeout = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const fetchTimeout = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const began = Date.now();
  await mkdir(cfg.stateDir, { recursive: true });
  return stateLock(cfg, 2 * fetchTimeout + 2 * startTimeout, async () => {
    const all = drivers(cfg);

    // 1. What already runs (possibly still starting)?
    const existing = await Promise.allSettled(all.map((d) => ensureRunningReady(cfg, d, startTimeout)));
    const errors: unknown[] = existing.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (errors.length) throw combine(errors);
    const alreadyRunning = all.filter((_, i) => (existing[i] as PromiseFulfilledResult<StartOutcome | undefined>).value);
    const toStart = all.filter((d) => !alreadyRunning.includes(d));

    // 2. Pre-flight before any long fetch: ports free, suitable Java present. Report every problem at once.
    for (const d of toStart) {
      try {
        await assertStartable(cfg, d);
        await d.selectJava();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw combine(errors);

    // 3. Fetch + spawn one after the other (Maven and JVM start-up share 2 cores), wait for readiness together.
    const waiting: Array<Promise<StartOutcome>> = [];
    for (const d of toStart) {
      try {
        if (!d.isInstalled()) await d.ensureInstalled(fetchTimeout);
        waiting.push((await launch(cfg, d, startTimeout)).ready);
      } catch (error) {
        errors.push(error);
        break;
      }
    }
    const outcomes = await Promise.allSettled(waiting);
    for (const o of outcomes) if (o.status === 'rejected') errors.push(o.reason);
    if (errors.length) throw combine(errors);

    const elapsedMs = Date.now() - began;
    if (toStart.length) cfg.progress(`local infra ready in ${seconds(elapsedMs)}`);
    return {
      stateDir: cfg.stateDir,
      cacheDir: cfg.cacheDir,
      components: await Promise.all(all.map((d) => componentStatus(cfg, d))),
      started: toStart.map((d) => d.name),
      alreadyRunning: alreadyRunning.map((d) => d.name),
      elapsedMs,
    };
  });
}

/**
 * Stops what `infraUp` started from this state dir (SIGTERM, SIGKILL after the grace period) and removes the pid
 * files. Never touches processes it did not start. `purge: true` also deletes the Kafka data directory.
 */
export async function infraDown(options: InfraDownOptions = {}): Promise<InfraDownResult> {
  const cfg = resolveConfig(options);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const stopAll = async (): Promise<InfraDownResult> => {
    const all = drivers(cfg);
    const settled = await Promise.allSettled(all.map((d) => stopComponent(cfg, d, graceMs)));
    const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (errors.length) throw combine(errors);
    const purged: string[] = [];
    if (options.purge) {
      for (const d of all) {
        const removed = await d.purge?.();
        if (removed) {
          purged.push(removed);
          cfg.progress(`${d.name}: deleted ${removed}`);
        }
      }
    }
    return {
      stateDir: cfg.stateDir,
      components: settled.map((r) => (r as PromiseFulfilledResult<StopOutcome>).value),
      purged,
    };
  };
  // A missing state dir is not created just to take the lock; processes are still found by their markers.
  return existsSync(cfg.stateDir) ? stateLock(cfg, DEFAULT_FETCH_TIMEOUT_MS, stopAll) : stopAll();
}

/** Reports, per component, whether our process runs and answers, with pid, address, log file and version. */
export async function infraStatus(options: InfraOptions = {}): Promise<InfraStatus> {
  const cfg = resolveConfig(options);
  return {
    stateDir: cfg.stateDir,
    cacheDir: cfg.cacheDir,
    components: await Promise.all(drivers(cfg).map((d) => componentStatus(cfg, d))),
  };
}

export type { ComponentStatus, StopOutcome } from './component.js';
export type { InfraComponentName, InfraDownOptions, InfraOptions, InfraUpOptions } from './config.js';
export { InfraError } from './errors.js';

export interface EnsureInfraResult {
  /** Kafka and a registry already answered at the configured addresses (started by anyone). */
  reused: boolean;
  kafka: string;
  registry: string;
}

/**
 * For test suites and benchmarks: use the Kafka broker and schema registry that already
 * answer at the configured addresses, whoever started them (another checkout's
 * `registo infra up`, a CI service), and start our own only when nothing answers.
 */
export async function ensureInfra(options: InfraUpOptions = {}): Promise<EnsureInfraResult> {
  const cfg = resolveConfig(options);
  const kafka = `${cfg.host}:${cfg.kafkaPort}`;
  const registry = `http://${cfg.host}:${cfg.registryPort}${CCOMPAT_PATH}`;
  const [metadata, subjects] = await Promise.all([kafkaMetadata(cfg.host, cfg.kafkaPort), httpGet(`${registry}/subjects`)]);
  const answering = { kafka: metadata !== undefined, registry: subjects?.status === 200 };
  if (answering.kafka && answering.registry) {
    options.onProgress?.(`using the Kafka broker at ${kafka} and the registry at ${registry} that already answer`);
    return { reused: true, kafka, registry };
  }
  // Start only what does not answer yet: a broker someone else runs is used, not fought over its port.
  const missing = cfg.components.filter((c) => !answering[c]);
  if (missing.length === 0) return { reused: true, kafka, registry };
  for (const c of cfg.components.filter((name) => answering[name])) options.onProgress?.(`${c}: using the one that already answers at ${c === 'kafka' ? kafka : registry}`);
  await infraUp({ ...options, only: missing });
  return { reused: false, kafka, registry };
}
