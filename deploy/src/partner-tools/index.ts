/**
 * How a partner (a bank's integrator) reads a Registo topic with standard tools nobody on this project wrote.
 *
 * The tool: Apache Kafka's own console consumer (`org.apache.kafka.tools.consumer.ConsoleConsumer`, artifact
 * `org.apache.kafka:kafka-tools`) with Apicurio's Avro deserializer (`io.apicurio:apicurio-registry-avro-serde-kafka`)
 * as the value deserializer, both from Maven Central. The deserializer reads the Confluent wire format
 * (magic byte 0 + 4-byte big-endian id + Avro binary), fetches the writer schema for that id from the registry, and
 * Kafka's formatter prints each value on its own line with Avro's generic JSON rendering.
 *
 * Why not kcat: Debian's kcat is built without libserdes, so `-s value=avro` fails ("This build of kcat lacks
 * Avro/Schema-Registry support"), and libserdes is not packaged in Debian.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfraError } from '../local-infra/errors.js';
import { selectJava, type JavaRuntime } from '../local-infra/java.js';
import { withLock } from '../local-infra/lock.js';
import { runLogged, seconds, tail } from '../local-infra/proc.js';

/** Apache Kafka release whose console consumer partners run (the same as the local broker's). */
export const PARTNER_KAFKA_VERSION = '3.9.2';
/**
 * Apicurio's Kafka Avro serde. Central has no 3.2+/3.3.x serde artifacts, so this is the newest published one;
 * it only fetches schemas by content id, which the 3.3 registry serves unchanged. Needs Java 17.
 */
export const PARTNER_APICURIO_SERDE_VERSION = '3.1.7';
/** slf4j 2 binding so that the consumer's and the deserializer's errors reach stderr (level warn). */
const SLF4J_VERSION = '2.0.17';
const PARTNER_JAVA_MAJOR = 17;

const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';
const COMPLETE_MARKER = '.registo-complete.json';
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const AVRO_DESERIALIZER = 'io.apicurio.registry.serde.avro.AvroKafkaDeserializer';
/** Magic byte + 4-byte id: the Confluent wire format. Apicurio 3.x's default, spelled out so that it stays so. */
const ID_HANDLER = 'io.apicurio.registry.serde.Default4ByteIdHandler';
const DEFAULT_FETCH_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface PartnerToolsOptions {
  /** The Registo cache root (as for `infraUp`); the tools go to `<cacheDir>/partner-tools/`. Default: env REGISTO_CACHE_DIR, else `~/.cache/registo`. */
  cacheDir?: string;
  /** Human-readable progress lines (installing…, fetching…, fetched in N s). */
  onProgress?: (message: string) => void;
  /** How long the Maven fetch and each apt-get step may take. Default 30 min. */
  timeoutMs?: number;
}

export interface PartnerTools {
  /** Folder holding this tool set (versioned, so a version bump fetches anew). */
  dir: string;
  /** Every jar of the console consumer + deserializer; use `<libsDir>/*` as class path. */
  libsDir: string;
  /** The Java 17+ runtime that runs the consumer. */
  java: JavaRuntime;
  kafkaVersion: string;
  serdeVersion: string;
  /** Maven coordinates the folder was resolved from. */
  coordinates: string[];
  /** How long the one-time fetch took (from the folder's record). */
  fetchMs: number | undefined;
  /** Debian packages this call installed (empty when everything was there). */
  installedPackages: string[];
}

export interface PartnerReadOptions {
  /** Kafka bootstrap servers, comma-separated (`127.0.0.1:9092`). */
  brokers: string;
  topic: string;
  /**
   * The schema registry: its Confluent-compatible URL (`http://host:8081/apis/ccompat/v7`, what partners are
   * given), its native v3 URL, or its base URL. Apicurio's deserializer speaks the native API, so the command uses
   * `<base>/apis/registry/v3`; the ids in the messages are the ccompat API's ids (Apicurio content ids).
   */
  registryUrl: string;
  /** Exit after this many messages. */
  maxMessages: number;
  /** Exit when no message arrived for this long (fewer messages than `maxMessages` on the topic). Default 30 s. */
  idleTimeoutMs?: number;
}

export interface PartnerCommand {
  /** Executable for `spawn`. */
  command: string;
  /** Arguments for `spawn` (no shell involved). */
  args: string[];
  /** The same command as a shell line, for the README (`$HOME`-relative cache path, `java` when it is on PATH). */
  display: string;
}

function resolveCacheRoot(cacheDir: string | undefined): string {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  return resolve(nonEmpty(cacheDir) ?? nonEmpty(process.env.REGISTO_CACHE_DIR) ?? join(homedir(), '.cache', 'registo'));
}

export function partnerToolsCoordinates(): string[] {
  return [
    `org.apache.kafka:kafka-tools:${PARTNER_KAFKA_VERSION}`,
    `org.apache.kafka:kafka-server-common:${PARTNER_KAFKA_VERSION}`,
    `org.apache.kafka:kafka-clients:${PARTNER_KAFKA_VERSION}`,
    'net.sf.jopt-simple:jopt-simple:5.0.4',
    `io.apicurio:apicurio-registry-avro-serde-kafka:${PARTNER_APICURIO_SERDE_VERSION}`,
    `org.slf4j:slf4j-api:${SLF4J_VERSION}`,
    `org.slf4j:slf4j-simple:${SLF4J_VERSION}`,
  ];
}

/**
 * kafka-tools and kafka-server-common are taken without their dependencies: the console consumer needs only
 * kafka-clients and jopt-simple from them, and their full trees (broker, Connect runtime, Jetty, Jackson 2.16)
 * would triple the download and downgrade the Jackson that Apicurio's client needs.
 */
function partnerPom(): string {
  const dep = (coordinate: string, isolated = false) => {
    const [g, a, v] = coordinate.split(':');
    const exclusions = isolated ? '<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>' : '';
    return `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${exclusions}</dependency>`;
  };
  const [tools, serverCommon, ...rest] = partnerToolsCoordinates();
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by @registo/deploy: the class path of Kafka's console consumer with Apicurio's Avro deserializer. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.registo.partner-tools</groupId>
  <artifactId>avro-console-consumer</artifactId>
  <version>${PARTNER_KAFKA_VERSION}-${PARTNER_APICURIO_SERDE_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep(tools!, true)}
${dep(serverCommon!, true)}
${rest.map((c) => dep(c)).join('\n')}
  </dependencies>
</project>
`;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

async function findJava(): Promise<JavaRuntime | undefined> {
  try {
    return await selectJava(PARTNER_JAVA_MAJOR, 'The partner console consumer');
  } catch {
    return undefined;
  }
}

/** `apt-get install -y` of what is missing, once, under a lock (apt's own lock makes a second run fail). */
async function installDebianPackages(
  cacheRoot: string,
  packages: string[],
  progress: (m: string) => void,
  timeoutMs: number,
  stillMissing: () => Promise<string[]>,
): Promise<string[]> {
  if (!onPath('apt-get') || process.getuid?.() !== 0) {
    throw new InfraError(
      `The partner tools need the Debian package(s) ${packages.join(', ')}; install them (apt-get install -y ${packages.join(' ')}) and retry`,
    );
  }
  const logFile = join(cacheRoot, 'fetch-logs', 'partner-tools-apt.log');
  await mkdir(join(cacheRoot, 'fetch-logs'), { recursive: true });
  return withLock(join(cacheRoot, '.lock-partner-tools-apt'), 'another apt-get install of the partner tools', timeoutMs, progress, async () => {
    const missing = await stillMissing(); // another process may have installed them while we waited
    if (missing.length === 0) return [];
    progress(`partner tools: apt-get install -y ${missing.join(' ')}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      await runLogged({ command: 'apt-get', args: ['update'], cwd: cacheRoot, env, logFile, timeoutMs });
      await runLogged({ command: 'apt-get', args: ['install', '-y', '--no-install-recommends', ...missing], cwd: cacheRoot, env, logFile, timeoutMs });
    } catch (error) {
      throw new InfraError(`apt-get install ${missing.join(' ')} failed (${(error as Error).message}); see ${logFile}\n${await tail(logFile, 20)}`, {
        logFile,
        cause: error,
      });
    }
    return missing;
  });
}

function record(dir: string): { coordinates: string[]; fetchMs: number } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, COMPLETE_MARKER), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Makes the partner tools usable: Java 17+ (Debian `default-jre-headless` if none), then, once per cache, the jars
 * from Maven Central (Debian `maven` if `mvn` is missing). Idempotent; concurrent callers fetch once.
 */
export async function ensurePartnerTools(options: PartnerToolsOptions = {}): Promise<PartnerTools> {
  const progress = (m: string) => {
    try {
      options.onProgress?.(m);
    } catch {
      // a failing progress printer must not break the fetch
    }
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const cacheRoot = resolveCacheRoot(options.cacheDir);
  const dir = join(cacheRoot, 'partner-tools', `kafka-${PARTNER_KAFKA_VERSION}-apicurio-serde-${PARTNER_APICURIO_SERDE_VERSION}`);
  const libsDir = join(dir, 'libs');
  const fetched = () => existsSync(join(dir, COMPLETE_MARKER));

  const missingPackages = async () => {
    const missing: string[] = [];
    if (!(await findJava())) missing.push('default-jre-headless');
    if (!fetched() && !onPath('mvn')) missing.push('maven');
    return missing;
  };
  let installedPackages: string[] = [];
  const missing = await missingPackages();
  if (missing.length) installedPackages = await installDebianPackages(cacheRoot, missing, progress, timeoutMs, missingPackages);
  const java = await selectJava(PARTNER_JAVA_MAJOR, 'The partner console consumer (Apicurio serde 3.x)');

  if (!fetched()) {
    const coordinates = partnerToolsCoordinates();
    await mkdir(join(cacheRoot, 'fetch-logs'), { recursive: true });
    await withLock(join(cacheRoot, '.lock-partner-tools'), 'another fetch of the partner tools', timeoutMs, progress, async () => {
      if (fetched()) return;
      const logFile = join(cacheRoot, 'fetch-logs', 'partner-tools.log');
      const scratch = `${dir}.partial-${process.pid}`;
      await rm(scratch, { recursive: true, force: true });
      await mkdir(scratch, { recursive: true });
      progress(`partner tools: fetching ${coordinates.join(', ')} from Maven Central into ${dir} (one time only)…`);
      const started = Date.now();
      try {
        await writeFile(join(scratch, 'pom.xml'), partnerPom());
        const args = ['-B', '-ntp', '-f', join(scratch, 'pom.xml'), `${DEPENDENCY_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${join(scratch, 'libs')}`, '-DincludeScope=runtime'];
        try {
          await runLogged({ command: 'mvn', args, cwd: scratch, logFile, timeoutMs });
        } catch (error) {
          throw new InfraError(`Fetching the partner tools failed (${(error as Error).message}). Maven log: ${logFile}\n${await tail(logFile, 30)}`, {
            logFile,
            cause: error,
          });
        }
        const jars = await readdir(join(scratch, 'libs')).catch(() => [] as string[]);
        for (const jar of [`kafka-tools-${PARTNER_KAFKA_VERSION}.jar`, `apicurio-registry-avro-serde-kafka-${PARTNER_APICURIO_SERDE_VERSION}.jar`]) {
          if (!jars.includes(jar)) throw new InfraError(`Maven finished but ${jar} is missing; see ${logFile}`, { logFile });
        }
        const fetchMs = Date.now() - started;
        await writeFile(join(scratch, COMPLETE_MARKER), `${JSON.stringify({ coordinates, fetchedAt: new Date().toISOString(), fetchMs }, null, 2)}\n`);
        await mkdir(join(cacheRoot, 'partner-tools'), { recursive: true });
        await rm(dir, { recursive: true, force: true });
        await rename(scratch, dir);
        progress(`partner tools: fetched ${jars.length} jars in ${seconds(fetchMs)}`);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
  }
  const rec = record(dir);
  return {
    dir,
    libsDir,
    java,
    kafkaVersion: PARTNER_KAFKA_VERSION,
    serdeVersion: PARTNER_APICURIO_SERDE_VERSION,
    coordinates: rec?.coordinates ?? partnerToolsCoordinates(),
    fetchMs: rec?.fetchMs,
    installedPackages,
  };
}

/** `http://h:8081/apis/ccompat/v7`, `…/apis/registry/v2|v3` or `http://h:8081` → `http://h:8081/apis/registry/v3`. */
export function apicurioNativeApiUrl(registryUrl: string): string {
  const url = new URL(registryUrl.trim());
  const path = url.pathname.replace(/\/+$/, '');
  const known = /^(.*?)\/apis\/(?:ccompat\/v\d+|registry\/v\d+)$/.exec(path);
  if (known) url.pathname = `${known[1]}/apis/registry/v3`;
  else if (!/(^|\/)apis(\/|$)/.test(path)) url.pathname = `${path}/apis/registry/v3`;
  else throw new InfraError(`Cannot tell the Apicurio native API from the registry URL ${registryUrl}; pass …/apis/ccompat/v7 or …/apis/registry/v3`);
  return url.toString().replace(/\/+$/, '');
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The partner's command: reads `topic` from the beginning (read_committed, a throw-away consumer group) and prints
 * one JSON object per message on stdout, the value decoded from Avro with the writer schema the registry holds for
 * the id in the message. Exits after `maxMessages`, or when nothing arrived for `idleTimeoutMs` (exit code 0; Kafka
 * then logs a TimeoutException on stderr).
 *
 * The JSON is Avro's generic rendering: the event as the store holds it, union values (`data`, nullable fields)
 * written as the value itself, not wrapped in `{"<branch name>": …}` as Avro's JSON encoding would.
 */
export function partnerReadCommand(tools: PartnerTools, options: PartnerReadOptions): PartnerCommand {
  if (!Number.isInteger(options.maxMessages) || options.maxMessages < 1) throw new InfraError(`maxMessages must be a positive integer, got ${options.maxMessages}`);
  const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const registry = apicurioNativeApiUrl(options.registryUrl);
  const deserializer = (key: string, value: string) => ['--property', `value.deserializer.${key}=${value}`];
  const consumerArgs = [
    CONSOLE_CONSUMER,
    '--bootstrap-server', options.brokers,
    '--topic', options.topic,
    '--from-beginning',
    '--isolation-level', 'read_committed',
    '--max-messages', String(options.maxMessages),
    '--timeout-ms', String(idle),
    '--property', `value.deserializer=${AVRO_DESERIALIZER}`,
    ...deserializer('apicurio.registry.url', registry),
    ...deserializer('apicurio.registry.id-handler', ID_HANDLER),
    ...deserializer('apicurio.registry.use-id', 'contentId'),
    ...deserializer('apicurio.registry.headers.enabled', 'false'),
  ];
  const logLevel = '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn';
  const classPath = `${tools.libsDir}/*`;
  const args = [logLevel, '-cp', classPath, ...consumerArgs];

  const home = homedir();
  const shownClassPath = classPath.startsWith(`${home}/`) ? `"$HOME/${classPath.slice(home.length + 1)}"` : shellQuote(classPath);
  const shownJava = tools.java.source === 'PATH' ? 'java' : shellQuote(tools.java.executable);
  const lines = [`${shownJava} ${logLevel} -cp ${shownClassPath} ${CONSOLE_CONSUMER}`];
  for (let i = 1; i < consumerArgs.length; i++) {
    const arg = consumerArgs[i]!;
    const next = consumerArgs[i + 1];
    if (arg.startsWith('--') && next !== undefined && !next.startsWith('--')) {
      lines.push(`${arg} ${shellQuote(next)}`);
      i++;
    } else lines.push(arg);
  }
  return { command: tools.java.executable, args, display: lines.join(' \\\n  ') };
}
