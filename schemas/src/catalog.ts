import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { CATEGORIES, type Category } from './stream-id.js';
import { RegistoError } from './errors.js';

/** Where the .avsc files live: schemas/avro, next to dist/ (works from src via tsx and from dist). */
export const AVRO_DIR = fileURLToPath(new URL('../../avro', import.meta.url));

const EVENT_FILE = /^([a-z]+)\/([A-Z][A-Za-z0-9]+)\.v([1-9][0-9]*)\.avsc$/;
const COMMON_FILE = /^common\/([A-Z][A-Za-z0-9]+)\.avsc$/;

export interface EventSchema {
  type: string;
  version: number;
  category: Category;
  file: string;
  schema: avro.Schema;
  avro: avro.Type;
}

export type SchemaFiles = ReadonlyMap<string, string>;

/** Reads every .avsc under a directory, keyed by its path relative to it with '/' separators. */
export function readSchemaFiles(dir: string = AVRO_DIR): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.avsc')) out.set(relative(dir, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

function parseJson(file: string, text: string): avro.Schema {
  try {
    return JSON.parse(text) as avro.Schema;
  } catch (e) {
    throw new RegistoError('SCHEMA_INCOMPATIBLE', `${file}: not valid JSON (${(e as Error).message})`, { file });
  }
}

/**
 * Parses named types that may refer to each other in any order: keep parsing what is left
 * until a round makes no progress (then the last error names the missing type).
 */
function parseCommon(files: Array<[string, avro.Schema]>): Record<string, avro.Type> {
  const registry: Record<string, avro.Type> = {};
  let pending = files;
  while (pending.length > 0) {
    const failed: Array<[string, avro.Schema]> = [];
    let lastError: Error | undefined;
    for (const [file, schema] of pending) {
      const attempt = { ...registry };
      try {
        avro.Type.forSchema(schema, { registry: attempt });
        Object.assign(registry, attempt);
      } catch (e) {
        failed.push([file, schema]);
        lastError = new Error(`${file}: ${(e as Error).message}`);
      }
    }
    if (failed.length === pending.length) throw lastError!;
    pending = failed;
  }
  return registry;
}

/**
 * Every event type and version the platform knows, with its Avro type. Built from schema
 * files so that the same code can load the working tree and another branch's version of it.
 */
export class SchemaCatalog {
  private readonly byKey = new Map<string, EventSchema>();
  private readonly latest = new Map<string, EventSchema>();
  readonly common: Readonly<Record<string, avro.Type>>;
  readonly envelopeSchema: avro.Schema;

  constructor(files: SchemaFiles) {
    const commonFiles: Array<[string, avro.Schema]> = [];
    for (const [file, text] of files) if (COMMON_FILE.test(file)) commonFiles.push([file, parseJson(file, text)]);
    this.common = parseCommon(commonFiles);
    const envelopeText = files.get('envelope.avsc');
    if (!envelopeText) throw new Error('envelope.avsc is missing from the schema files');
    this.envelopeSchema = parseJson('envelope.avsc', envelopeText);

    for (const [file, text] of files) {
      const m = EVENT_FILE.exec(file);
      if (!m || m[1] === 'common') continue;
      const [, category, type, version] = m as unknown as [string, string, string, string];
      if (!(CATEGORIES as readonly string[]).includes(category)) {
        throw new Error(`${file}: unknown category '${category}'`);
      }
      const schema = parseJson(file, text);
      const avroType = avro.Type.forSchema(schema, { registry: { ...this.common } });
      if (avroType.name !== `registo.${category}.${type}`) {
        throw new Error(`${file}: record must be named registo.${category}.${type}, found ${avroType.name}`);
      }
      const entry: EventSchema = { type, version: Number(version), category: category as Category, file, schema, avro: avroType };
      this.byKey.set(`${type}@${entry.version}`, entry);
      const prev = this.latest.get(type);
      if (prev && prev.category !== entry.category) throw new Error(`${type} is defined in two categories`);
      if (!prev || prev.version < entry.version) this.latest.set(type, entry);
    }
  }

  static load(dir: string = AVRO_DIR): SchemaCatalog {
    return new SchemaCatalog(readSchemaFiles(dir));
  }

  types(): string[] {
    return [...this.latest.keys()].sort();
  }

  all(): EventSchema[] {
    return [...this.byKey.values()].sort((a, b) => a.file.localeCompare(b.file));
  }

  typesOf(category: Category): EventSchema[] {
    return [...this.latest.values()].filter((s) => s.category === category).sort((a, b) => a.type.localeCompare(b.type));
  }

  has(type: string, version?: number): boolean {
    return version === undefined ? this.latest.has(type) : this.byKey.has(`${type}@${version}`);
  }

  latestVersion(type: string): number {
    const s = this.latest.get(type);
    if (!s) throw new RegistoError('EVENT_TYPE_UNKNOWN', `unknown event type '${type}'`, { type });
    return s.version;
  }

  get(type: string, version?: number): EventSchema {
    const s = version === undefined ? this.latest.get(type) : this.byKey.get(`${type}@${version}`);
    if (!s) {
      throw new RegistoError('EVENT_TYPE_UNKNOWN', `unknown event type '${type}'${version ? ` version ${version}` : ''}`, {
        type,
        ...(version !== undefined ? { schemaVersion: version } : {}),
      });
    }
    return s;
  }
}

let defaultCatalog: SchemaCatalog | undefined;

/** The catalog of this build's schemas, loaded once. */
export function schemaCatalog(): SchemaCatalog {
  defaultCatalog ??= SchemaCatalog.load();
  return defaultCatalog;
}
