import { existsSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RegistoError } from '@registo/schemas';

const ADVICE: Record<string, string> = {
  EACCES: 'permission denied: run as a user who may write it, or choose another directory (REGISTO_DATA_DIR or --data-dir)',
  EPERM: 'permission denied: run as a user who may write it, or choose another directory (REGISTO_DATA_DIR or --data-dir)',
  EROFS: 'the filesystem is read-only: choose a directory on a writable one (REGISTO_DATA_DIR or --data-dir)',
  ENOSPC: 'the disk is full: free space on it, or choose another directory (REGISTO_DATA_DIR or --data-dir)',
  ENOTDIR: 'the path is not a directory: choose a directory (REGISTO_DATA_DIR or --data-dir)',
};

function writeProbe(dir: string): string | null {
  const probe = join(dir, `.registo-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, 'probe');
    rmSync(probe, { force: true });
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/**
 * Why a data directory cannot take writes, found by writing to it; null when it can. Less free
 * space than `reserveBytes` is a full disk: the store would refuse every write (disk-reserve.ts).
 */
export function dataDirProblem(dir: string, reserveBytes = 32 * 1024 * 1024): { code: string; advice: string } | null {
  let code = writeProbe(dir);
  // Not there (a recursive mkdir can fail quietly, e.g. on a read-only filesystem): the
  // nearest directory that exists says why it could not be made.
  for (let at = dir; code === 'ENOENT' && !existsSync(at) && dirname(at) !== at; ) {
    at = dirname(at);
    if (existsSync(at)) code = writeProbe(at) ?? 'ENOENT';
  }
  if (code) return { code, advice: ADVICE[code] ?? `it cannot be written (${code})` };
  try {
    // A filesystem with almost nothing left fails PGlite's first WAL segment (16 MiB) instead.
    const s = statfsSync(dir);
    if (s.bavail * s.bsize < reserveBytes) return { code: 'ENOSPC', advice: ADVICE.ENOSPC! };
  } catch {
    // statfs is not everywhere; the write above is the check that matters.
  }
  return null;
}

/** The start-up error for a data directory that cannot be used: the directory, the cause, what to do. */
export function dataDirError(dir: string, cause: unknown, reserveBytes?: number): RegistoError {
  const problem = dataDirProblem(dir, reserveBytes);
  const raw = cause instanceof Error ? cause.message : typeof cause === 'object' && cause !== null ? JSON.stringify(cause) : String(cause);
  return new RegistoError(
    'DATA_DIR_UNUSABLE',
    problem ? `the data directory ${dir} cannot be used: ${problem.advice}` : `the embedded database in ${dir} failed to open (${raw}): if it was copied or damaged, restore it from a backup, or choose another directory`,
    { dataDir: dir, cause: problem?.code ?? raw },
  );
}
