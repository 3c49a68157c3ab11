import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InfraComponentName, InfraConfig } from './config.js';
import { InfraError } from './errors.js';
import type { JavaRuntime } from './java.js';
import {
  findListener,
  findProcessByMarkers,
  isAlive,
  isOurProcess,
  isPortOpen,
  readPidFile,
  removeFile,
  rotateLog,
  rssMb,
  seconds,
  sleep,
  spawnDetached,
  stopProcess,
  tail,
  writeFileAtomic,
} from './proc.js';

/** What `infraStatus` reports per component. */
export interface ComponentStatus {
  name: InfraComponentName;
  /** A process started by `infraUp` for this state dir is alive. */
  running: boolean;
  /** It also answers its protocol (Kafka metadata with itself as broker / registry HTTP 200). */
  ready: boolean;
  pid: number | null;
  /** `127.0.0.1:9092` for Kafka (bootstrap servers), `http://127.0.0.1:8081` for the registry. */
  address: string;
  logFile: string;
  /** Version running (from the run record) or, when stopped, the version `infraUp` would start. */
  version: string;
  /** Resident memory of the JVM, Linux only. */
  rssMb?: number;
  /** Java used by the running process. */
  java?: string;
  /** Anything odd: stale pid file, port held by a foreign process, … */
  problem?: string;
  /**
   * Not ours, but something holds the main port: "another Kafka broker answers on 127.0.0.1:9092
   * (not started here)", or that the port is taken by something that does not speak the protocol.
   */
  foreign?: string;
  /** What holds the port answers the protocol well enough for `registo infra up --reuse` to use it. */
  reusable?: boolean;
}

/** Written next to the pid file when a component starts. */
interface RunRecord {
  pid: number;
  version: string;
  address: string;
  ports: Record<string, number>;
  java: string;
  javaVersion: string;
  startedAt: string;
  /** Dynamic CDS archive being dumped by this run (Java < 19), promoted on clean shutdown. */
  cdsDump?: { from: string; to: string };
}

export interface LaunchPlan {
  java: JavaRuntime;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  cdsDump?: { from: string; to: string };
}

interface PortSpec {
  port: number;
  what: string;
  /** How the user can change it. */
  hint: string;
}

/** Per-component behaviour; the lifecycle around it lives in this file. */
export interface ComponentDriver {
  readonly name: InfraComponentName;
  readonly label: string;
  readonly version: string;
  readonly address: string;
  readonly ports: PortSpec[];
  /** argv entries that identify a process started by us for this state dir. */
  readonly markers: string[];
  readonly logFile: string;
  readonly minJava: number;
  isInstalled(): boolean;
  ensureInstalled(timeoutMs: number): Promise<void>;
  selectJava(): Promise<JavaRuntime>;
  /** Write config files, format storage, build the command line. Called only when installed. */
  prepare(): Promise<LaunchPlan>;
  isReady(): Promise<boolean>;
  /** A few words on what answers on our main port when it is not us. */
  describeForeign(): Promise<string | undefined>;
  /** What this component is, said of another one: "Kafka broker", "schema registry". */
  readonly kind: string;
  /** Whatever answers on our main port serves what clients need from this component (anyone's). */
  answersForClients(): Promise<boolean>;
  /** Delete persistent data (only called while stopped). */
  purge?(): Promise<string | undefined>;
}

const pidFile = (cfg: InfraConfig, name: InfraComponentName) => join(cfg.stateDir, `${name}.pid`);
const runFile = (cfg: InfraConfig, name: InfraComponentName) => join(cfg.stateDir, `${name}.run.json`);

async function readRunRecord(path: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

interface Located {
  pid: number | undefined;
  ours: boolean;
  /** Pid file pointed at a dead or foreign process. */
  stalePid?: number;
  /** Found by command-line markers although the pid file was missing. */
  adopted?: boolean;
  record?: RunRecord;
}

/** Finds our process for a component: pid file first, then (Linux) a scan for our command-line markers. */
async function locate(cfg: InfraConfig, d: ComponentDriver): Promise<Located> {
  const pid = await readPidFile(pidFile(cfg, d.name));
  const record = await readRunRecord(runFile(cfg, d.name));
  if (pid !== undefined && (await isOurProcess(pid, d.markers))) return { pid, ours: true, record };
  const found = await findProcessByMarkers(d.markers);
  if (found !== undefined) {
    return { pid: found, ours: true, adopted: true, record: record?.pid === found ? record : undefined };
  }
  return pid !== undefined ? { pid: undefined, ours: false, stalePid: pid } : { pid: undefined, ours: false };
}

/** "pid 42: java … kafka.Kafka /x/server.properties", or who started it if it is another registo state dir. */
function describeProcess(pid: number, argv: string[]): string {
  const marker = (key: string) => argv.find((a) => a.startsWith(`-Dregisto.${key}=`))?.slice(`-Dregisto.${key}=`.length);
  const component = marker('infra');
  const otherStateDir = marker('stateDir');
  if (component && otherStateDir) {
    return `pid ${pid}, the registo ${component} of state dir ${otherStateDir} (stop it with \`registo infra down\` and REGISTO_STATE_DIR=${otherStateDir})`;
  }
  if (argv.length === 0) return `pid ${pid}`;
  const program = basename(argv[0] ?? '');
  const firstNonFlag = argv.findIndex((a, i) => i > 0 && !a.startsWith('-') && argv[i - 1] !== '-cp' && argv[i - 1] !== '-classpath');
  const rest = firstNonFlag > 0 ? argv.slice(firstNonFlag) : argv.slice(1);
  const text = [program, ...(firstNonFlag > 1 ? ['…'] : []), ...rest].join(' ');
  return `pid ${pid}: ${text.length > 160 ? `${text.slice(0, 160)}…` : text}`;
}

async function foreignPortProblem(cfg: InfraConfig, d: ComponentDriver): Promise<string | undefined> {
  const busy: string[] = [];
  for (const spec of d.ports) {
    if (!(await isPortOpen(cfg.host, spec.port, 500))) continue;
    const owner = await findListener(spec.port);
    const who = owner ? describeProcess(owner.pid, owner.argv) : 'a process we cannot identify';
    const speaks = spec === d.ports[0] ? await d.describeForeign() : undefined;
    busy.push(
      `${cfg.host}:${spec.port} (${spec.what}) is already in use by something registo did not start from ${cfg.stateDir} — ${who}` +
        `${speaks ? `; it ${speaks}` : ''}. Stop it, or choose another port (${spec.hint}).`,
    );
  }
  return busy.length ? busy.join('\n') : undefined;
}

export async function componentStatus(cfg: InfraConfig, d: ComponentDriver): Promise<ComponentStatus> {
  const where = await locate(cfg, d);
  const base: ComponentStatus = {
    name: d.name,
    running: where.ours,
    ready: false,
    pid: where.pid ?? null,
    address: where.record?.address ?? d.address,
    logFile: d.logFile,
    version: where.record?.version ?? d.version,
  };
  if (where.ours && where.pid !== undefined) {
    const rss = await rssMb(where.pid);
    if (rss !== undefined) base.rssMb = rss;
    if (where.record?.javaVersion) base.java = `${where.record.javaVersion} (${where.record.java})`;
    if (where.record && where.record.address !== d.address) {
      base.problem = `running on ${where.record.address}, but the current configuration says ${d.address}`;
      return base;
    }
    base.ready = await d.isReady();
    if (where.adopted) base.problem = `pid file ${pidFile(cfg, d.name)} was missing; found the process by its command line`;
    return base;
  }
  const problems: string[] = [];
  if (where.stalePid !== undefined) problems.push(`stale pid file (process ${where.stalePid} is gone or is not ours)`);
  const foreign = await foreignPortProblem(cfg, d);
  if (foreign) problems.push(foreign);
  if (problems.length) base.problem = problems.join('; ');
  const held = await foreignHolder(cfg, d);
  if (held) Object.assign(base, held);
  return base;
}

/** Who holds our main port when our process does not: another instance clients could use, or something else. */
async function foreignHolder(cfg: InfraConfig, d: ComponentDriver): Promise<{ foreign: string; reusable: boolean } | undefined> {
  const main = d.ports[0];
  if (!main || !(await isPortOpen(cfg.host, main.port, 500))) return undefined;
  const where = `${cfg.host}:${main.port}`;
  if (await d.answersForClients()) return { foreign: `another ${d.kind} answers on ${where} (not started here)`, reusable: true };
  return { foreign: `${where} is in use by something that is not a ${d.kind} (not started here)`, reusable: false };
}

/** Checks that a stopped component could start: ports free (Java is checked by selectJava). */
export async function assertStartable(cfg: InfraConfig, d: ComponentDriver): Promise<void> {
  const foreign = await foreignPortProblem(cfg, d);
  if (!foreign) return;
  // Another broker or registry on the port is often the shared one of this machine: say how to use it.
  const reuse = (await foreignHolder(cfg, d))?.reusable
    ? `\nTo use the ${d.kind} that answers there instead of starting one, run \`registo infra up --reuse\` (it uses a Kafka broker and a registry that already answer, whoever started them, and starts only what is missing).`
    : '';
  throw new InfraError(`Cannot start ${d.label}: ${foreign}${reuse}`);
}

export interface StartOutcome {
  name: InfraComponentName;
  pid: number;
  startedNow: boolean;
  readyInMs: number;
}

async function waitUntilReady(cfg: InfraConfig, d: ComponentDriver, pid: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) {
      await removeFile(pidFile(cfg, d.name));
      await removeFile(runFile(cfg, d.name));
      throw new InfraError(
        `${d.label} (pid ${pid}) exited during startup. Log: ${d.logFile}\n--- last lines ---\n${await tail(d.logFile)}`,
        { logFile: d.logFile },
      );
    }
    if (await d.isReady()) return Date.now() - started;
    if (Date.now() > deadline) {
      cfg.progress(`${d.name}: not ready after ${seconds(timeoutMs)}, stopping pid ${pid}`);
      await stopProcess(pid, 10_000);
      await removeFile(pidFile(cfg, d.name));
      await removeFile(runFile(cfg, d.name));
      throw new InfraError(
        `${d.label} did not become ready on ${d.address} within ${seconds(timeoutMs)}; it was stopped again. ` +
          `Log: ${d.logFile}\n--- last lines ---\n${await tail(d.logFile)}`,
        { logFile: d.logFile },
      );
    }
    await sleep(250);
  }
}

/** If our process already runs: make sure it is ready (it may still be starting) and keep its pid file honest. */
export async function ensureRunningReady(
  cfg: InfraConfig,
  d: ComponentDriver,
  timeoutMs: number,
): Promise<StartOutcome | undefined> {
  const where = await locate(cfg, d);
  if (!where.ours || where.pid === undefined) {
    if (where.stalePid !== undefined) {
      await removeFile(pidFile(cfg, d.name));
      await removeFile(runFile(cfg, d.name));
    }
    return undefined;
  }
  if (where.record && where.record.address !== d.address) {
    throw new InfraError(
      `${d.label} from ${cfg.stateDir} is already running on ${where.record.address} (pid ${where.pid}), but the configuration asks for ${d.address}. ` +
        `Run \`registo infra down\` first to restart it with the new settings.`,
      { logFile: d.logFile },
    );
  }
  if (where.adopted) await writeFileAtomic(pidFile(cfg, d.name), `${where.pid}\n`);
  if (await d.isReady()) {
    cfg.progress(`${d.name}: already running (pid ${where.pid}) on ${d.address}`);
    return { name: d.name, pid: where.pid, startedNow: false, readyInMs: 0 };
  }
  cfg.progress(`${d.name}: already started (pid ${where.pid}), waiting until it is ready…`);
  const readyInMs = await waitUntilReady(cfg, d, where.pid, timeoutMs);
  cfg.progress(`${d.name}: ready in ${seconds(readyInMs)} (pid ${where.pid})`);
  return { name: d.name, pid: where.pid, startedNow: false, readyInMs };
}

/** Spawns the component detached and records pid + run record. Returns a promise that settles on readiness. */
export async function launch(
  cfg: InfraConfig,
  d: ComponentDriver,
  timeoutMs: number,
): Promise<{ pid: number; ready: Promise<StartOutcome> }> {
  const plan = await d.prepare();
  await rotateLog(d.logFile);
  const spawnedAt = Date.now();
  let pid: number;
  try {
    pid = await spawnDetached({ command: plan.java.executable, args: plan.args, cwd: plan.cwd, env: plan.env, logFile: d.logFile });
  } catch (error) {
    throw new InfraError(`Could not spawn ${d.label} with ${plan.java.executable}: ${(error as Error).message}`, {
      logFile: d.logFile,
      cause: error,
    });
  }
  await writeFileAtomic(pidFile(cfg, d.name), `${pid}\n`);
  const record: RunRecord = {
    pid,
    version: d.version,
    address: d.address,
    ports: Object.fromEntries(d.ports.map((p) => [p.what, p.port])),
    java: plan.java.executable,
    javaVersion: plan.java.version,
    startedAt: new Date(spawnedAt).toISOString(),
    ...(plan.cdsDump ? { cdsDump: plan.cdsDump } : {}),
  };
  await writeFileAtomic(runFile(cfg, d.name), `${JSON.stringify(record, null, 2)}\n`);
  cfg.progress(`${d.name}: starting ${d.label} ${d.version} on ${d.address} (pid ${pid}, Java ${plan.java.major}), log ${d.logFile}`);
  const ready = (async () => {
    await waitUntilReady(cfg, d, pid, timeoutMs);
    const readyInMs = Date.now() - spawnedAt;
    const rss = await rssMb(pid);
    cfg.progress(`${d.name}: ready in ${seconds(readyInMs)} (pid ${pid}${rss !== undefined ? `, RSS ${rss} MiB` : ''})`);
    return { name: d.name, pid, startedNow: true, readyInMs };
  })();
  ready.catch(() => undefined); // the caller awaits it; avoid an unhandled rejection while it does other work
  return { pid, ready };
}

export interface StopOutcome {
  name: InfraComponentName;
  pid: number | null;
  /** How it ended: SIGTERM (clean), SIGKILL (after the grace period) or not running at all. */
  result: 'stopped' | 'killed' | 'not-running';
}

export async function stopComponent(cfg: InfraConfig, d: ComponentDriver, graceMs: number): Promise<StopOutcome> {
  const where = await locate(cfg, d);
  let outcome: StopOutcome = { name: d.name, pid: null, result: 'not-running' };
  if (where.ours && where.pid !== undefined) {
    cfg.progress(`${d.name}: stopping pid ${where.pid}…`);
    const started = Date.now();
    const how = await stopProcess(where.pid, graceMs);
    outcome = { name: d.name, pid: where.pid, result: how === 'SIGKILL' ? 'killed' : 'stopped' };
    cfg.progress(
      `${d.name}: ${how === 'SIGKILL' ? `killed (SIGKILL after ${seconds(graceMs)} grace)` : 'stopped'} in ${seconds(Date.now() - started)}`,
    );
    await settleCdsDump(where.record, how !== 'SIGKILL');
  }
  await removeFile(pidFile(cfg, d.name));
  await removeFile(runFile(cfg, d.name));
  return outcome;
}

/** A dynamic CDS archive dumped at exit is only trusted after a clean exit. */
async function settleCdsDump(record: RunRecord | undefined, clean: boolean): Promise<void> {
  const dump = record?.cdsDump;
  if (!dump) return;
  try {
    if (clean && existsSync(dump.from) && (await stat(dump.from)).size > 0) await rename(dump.from, dump.to);
  } finally {
    await rm(dump.from, { force: true });
  }
}

/** Removes leftovers of interrupted dynamic CDS dumps older than a day. */
export async function cleanOldCdsDumps(dir: string): Promise<void> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return;
  }
  for (const f of files) {
    if (!f.includes('.dump-')) continue;
    const p = join(dir, f);
    const age = await stat(p).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 24 * 3600_000) await rm(p, { force: true });
  }
}

/**
 * JVM flags for class-data sharing (much faster restarts). Java 19+: the JVM maintains the archive itself.
 * Java 13-18: the first run dumps an archive at exit, later runs use it.
 */
export function cdsFlags(
  java: JavaRuntime,
  cdsDir: string,
): { flags: string[]; readOnly: string[]; dump?: { from: string; to: string } } {
  const archive = join(cdsDir, `java-${java.version}.jsa`);
  if (java.major < 13) return { flags: [], readOnly: [] };
  // for short-lived helpers on the same class path: use the archive if there is one, never write it
  const readOnly = existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`, '-Xshare:auto'] : [];
  if (java.major >= 19) return { flags: ['-XX:+AutoCreateSharedArchive', `-XX:SharedArchiveFile=${archive}`], readOnly };
  if (existsSync(archive)) return { flags: [`-XX:SharedArchiveFile=${archive}`], readOnly };
  const from = join(cdsDir, `java-${java.version}.dump-${process.pid}-${Date.now()}.jsa`);
  return { flags: [`-XX:ArchiveClassesAtExit=${from}`], readOnly, dump: { from, to: archive } };
}
