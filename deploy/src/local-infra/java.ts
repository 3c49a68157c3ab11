import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from './errors.js';

export interface JavaRuntime {
  /** Absolute path of the `java` executable (symlinks resolved). */
  executable: string;
  /** Full version string, e.g. "17.0.15". */
  version: string;
  /** Feature release, e.g. 17. */
  major: number;
  /** Where we found it (REGISTO_JAVA_HOME, JAVA_HOME, PATH, or a scanned JDK folder). */
  source: string;
}

const probed = new Map<string, Promise<JavaRuntime | undefined>>();

function parseJavaVersion(output: string): { version: string; major: number } | undefined {
  const match = /version "([^"]+)"/.exec(output);
  if (!match?.[1]) return undefined;
  const version = match[1];
  const parts = version.split(/[.+_-]/);
  const first = Number(parts[0]);
  const major = first === 1 ? Number(parts[1]) : first; // "1.8.0_x" is Java 8
  return Number.isFinite(major) ? { version, major } : undefined;
}

function probeJava(executable: string, source: string): Promise<JavaRuntime | undefined> {
  const cached = probed.get(executable);
  if (cached) return cached;
  const result = new Promise<JavaRuntime | undefined>((resolvePromise) => {
    execFile(executable, ['-version'], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) return resolvePromise(undefined);
      const parsed = parseJavaVersion(`${stderr}\n${stdout}`);
      resolvePromise(parsed ? { executable, source, ...parsed } : undefined);
    });
  });
  probed.set(executable, result);
  return result;
}

async function which(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function listJdkHomes(): Promise<string[]> {
  const roots = [
    '/usr/lib/jvm',
    '/usr/java',
    '/opt/java',
    '/opt/jdk',
    '/Library/Java/JavaVirtualMachines',
    join(homedir(), '.sdkman', 'candidates', 'java'),
    join(homedir(), '.jdks'),
  ];
  const homes: string[] = [];
  for (const root of roots) {
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      homes.push(join(root, entry), join(root, entry, 'Contents', 'Home'));
    }
  }
  return homes;
}

/** All Java runtimes we can find, preferred ones first, deduplicated by real path. */
async function findJavaRuntimes(): Promise<JavaRuntime[]> {
  const candidates: Array<{ path: string; source: string }> = [];
  const addHome = (home: string | undefined, source: string) => {
    if (home) candidates.push({ path: join(home, 'bin', 'java'), source });
  };
  addHome(process.env.REGISTO_JAVA_HOME, 'REGISTO_JAVA_HOME');
  addHome(process.env.JAVA_HOME, 'JAVA_HOME');
  const onPath = await which('java');
  if (onPath) candidates.push({ path: onPath, source: 'PATH' });
  for (const home of await listJdkHomes()) addHome(home, home);

  const seen = new Set<string>();
  const runtimes: JavaRuntime[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate.path)) continue;
    let real: string;
    try {
      real = await realpath(candidate.path);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const runtime = await probeJava(real, candidate.source);
    if (runtime) runtimes.push({ ...runtime, source: candidate.source });
  }
  return runtimes;
}

/**
 * Picks a Java runtime for a component needing at least `minMajor`.
 * The user's own choice (REGISTO_JAVA_HOME, JAVA_HOME, `java` on PATH) wins when it is new enough;
 * otherwise the oldest installed JDK that satisfies the requirement (the best-tested one).
 */
export async function selectJava(minMajor: number, purpose: string): Promise<JavaRuntime> {
  const runtimes = await findJavaRuntimes();
  const preferred = runtimes.find(
    (r) => (r.source === 'REGISTO_JAVA_HOME' || r.source === 'JAVA_HOME' || r.source === 'PATH') && r.major >= minMajor,
  );
  if (preferred) return preferred;
  const scanned = runtimes.filter((r) => r.major >= minMajor).sort((a, b) => a.major - b.major);
  if (scanned[0]) return scanned[0];
  const found = runtimes.length
    ? runtimes.map((r) => `Java ${r.major} at ${r.executable} (${r.source})`).join('; ')
    : 'no Java runtime at all';
  throw new InfraError(
    `${purpose} needs Java ${minMajor} or newer, but found ${found}. ` +
      `Install a JDK ${minMajor}+ (any folder under /usr/lib/jvm is picked up) or point REGISTO_JAVA_HOME at one.`,
  );
}
