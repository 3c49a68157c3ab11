import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RegistoError } from '@registo/schemas';

/**
 * Where the next `registo demo` starts in the synthetic population, per platform URL:
 * `<dataDir>/demo/next-person.json`. A platform that enrolled a person flags a second packet of
 * them as a duplicate, so a second run must take new people to end as expected.
 */
export interface NextPeople {
  citizen: number;
  foreigner: number;
}

type CursorFile = Record<string, NextPeople & { updatedAt: string }>;

export const nextPersonFile = (dataDir: string): string => join(dataDir, 'demo', 'next-person.json');

async function readCursors(file: string): Promise<CursorFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistoError('CONFIG_INVALID', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as CursorFile;
  } catch {
    // reported below
  }
  throw new RegistoError('CONFIG_INVALID', `${file} is not a demo cursor file: delete it or pass --start-over`, { file });
}

/** The first people not yet enrolled on `url` by an earlier run (0, 0 for a platform never demoed). */
export async function readNextPeople(file: string, url: string): Promise<NextPeople> {
  const c = (await readCursors(file))[url];
  const whole = (n: unknown): number => (Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : 0);
  return { citizen: whole(c?.citizen), foreigner: whole(c?.foreigner) };
}

/**
 * Records where the next run on `url` starts. With `keepFurther` (a run given its own first
 * person) a cursor already past `next` stays: people beyond it were never enrolled, those before
 * may have been. Without it (a run from the cursor, or starting over) `next` replaces it.
 */
export async function saveNextPeople(file: string, url: string, next: NextPeople, options: { keepFurther?: boolean } = {}): Promise<void> {
  const all = await readCursors(file);
  const was = options.keepFurther ? await readNextPeople(file, url) : { citizen: 0, foreigner: 0 };
  all[url] = { citizen: Math.max(was.citizen, next.citizen), foreigner: Math.max(was.foreigner, next.foreigner), updatedAt: new Date().toISOString() };
  await mkdir(dirname(file), { recursive: true });
  // Written aside and renamed: an interrupted run never leaves half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
  await rename(tmp, file);
}
