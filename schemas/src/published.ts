import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SchemaFiles } from './catalog.js';

/**
 * The schemas as last published to partners and the registry, committed beside the live ones
 * (`schemas/published.json`). `registo schemas check` compares the working tree with it, so the
 * check can fail on main too; `registo schemas publish` rewrites it, deliberately, on a release.
 */
export const PUBLISHED_SNAPSHOT = fileURLToPath(new URL('../../published.json', import.meta.url));

const DESCRIPTION =
  'The event schemas as published (schemas/avro at the last `registo schemas publish`). `registo schemas check` refuses changes that break BACKWARD compatibility with them. Do not edit by hand.';

interface Snapshot {
  description: string;
  files: Record<string, unknown>;
}

function parseSchema(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
}

/** The snapshot file's text for these schema files: sorted by path, each schema as parsed JSON. */
export function publishedSnapshotText(files: SchemaFiles): string {
  const out: Snapshot = { description: DESCRIPTION, files: {} };
  for (const path of [...files.keys()].sort()) out.files[path] = parseSchema(path, files.get(path)!);
  return `${JSON.stringify(out, null, 2)}\n`;
}

function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== 'object' || value === null || !('files' in value)) return false;
  const files = value.files;
  return typeof files === 'object' && files !== null && !Array.isArray(files);
}

/** The published schema files, path → schema text, as `readSchemaFiles` gives the live ones. */
export function readPublishedSnapshot(path: string = PUBLISHED_SNAPSHOT): Map<string, string> {
  if (!existsSync(path)) throw new Error(`no published schema snapshot at ${path}: run \`registo schemas publish\` to record the published schemas`);
  const parsed = parseSchema(path, readFileSync(path, 'utf8'));
  if (!isSnapshot(parsed)) throw new Error(`${path} is not a published schema snapshot (no "files" object)`);
  return new Map(Object.entries(parsed.files).map(([file, schema]) => [file, JSON.stringify(schema, null, 2)]));
}

export interface SchemaFileChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/** Which files differ between two sets, comparing the parsed schemas (layout aside). */
export function schemaFileChanges(baseline: SchemaFiles, current: SchemaFiles): SchemaFileChanges {
  const same = (path: string): boolean =>
    JSON.stringify(parseSchema(path, baseline.get(path)!)) === JSON.stringify(parseSchema(path, current.get(path)!));
  return {
    added: [...current.keys()].filter((p) => !baseline.has(p)).sort(),
    changed: [...current.keys()].filter((p) => baseline.has(p) && !same(p)).sort(),
    removed: [...baseline.keys()].filter((p) => !current.has(p)).sort(),
  };
}
