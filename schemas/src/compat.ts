import avro from 'avsc';
import { SchemaCatalog, type SchemaFiles } from './catalog.js';

export interface CompatibilityProblem {
  subject: string;
  problem: string;
}

/** Fields of `before` that have no default and are gone from `after`, searched through nested records. */
function removedRequiredFields(before: avro.Type, after: avro.Type, path = ''): string[] {
  if (!(before instanceof avro.types.RecordType) || !(after instanceof avro.types.RecordType)) return [];
  const out: string[] = [];
  for (const f of before.fields) {
    const g = after.field(f.name);
    const here = path ? `${path}.${f.name}` : f.name;
    if (!g) {
      if (f.defaultValue() === undefined) out.push(here);
    } else out.push(...removedRequiredFields(f.type, g.type, here));
  }
  return out;
}

function resolves(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * BACKWARD compatibility as the schema registry means it: data written with the old schema
 * must be readable with the new one. Checked for every event type version and every common
 * type present in `baseline`, and between consecutive versions of each type in `current`.
 * A published version that disappears is a break too: old events would become unreadable.
 *
 * One rule goes beyond BACKWARD: a field with no default may not be removed from a published
 * version. The registry (BACKWARD) would accept it, but partners still reading with the
 * published schema could no longer read new events.
 */
export function checkBackwardCompatibility(baseline: SchemaFiles, current: SchemaFiles): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  let now: SchemaCatalog;
  try {
    now = new SchemaCatalog(current);
  } catch (e) {
    return [{ subject: '(current schemas)', problem: (e as Error).message }];
  }
  const before = new SchemaCatalog(baseline);

  for (const old of before.all()) {
    const subject = `${old.type} v${old.version} (${old.file})`;
    if (!now.has(old.type, old.version)) {
      problems.push({ subject, problem: 'removed: events already written with it could no longer be read' });
      continue;
    }
    const why = resolves(now.get(old.type, old.version).avro, old.avro);
    if (why) problems.push({ subject, problem: `new schema cannot read data written with the old one: ${why}` });
    for (const field of removedRequiredFields(old.avro, now.get(old.type, old.version).avro)) {
      problems.push({ subject, problem: `required field '${field}' (no default) removed: readers of the published schema would fail on new events` });
    }
  }
  for (const [name, oldType] of Object.entries(before.common)) {
    const newType = now.common[name];
    if (!newType) {
      problems.push({ subject: name, problem: 'common type removed' });
      continue;
    }
    const why = resolves(newType, oldType);
    if (why) problems.push({ subject: name, problem: `new schema cannot read data written with the old one: ${why}` });
  }
  for (const type of now.types()) {
    const versions = now.all().filter((s) => s.type === type).sort((a, b) => a.version - b.version);
    for (let i = 1; i < versions.length; i++) {
      const prev = versions[i - 1]!;
      const next = versions[i]!;
      const why = resolves(next.avro, prev.avro);
      if (why) problems.push({ subject: `${type} v${next.version}`, problem: `cannot read v${prev.version} data: ${why}` });
    }
  }
  return problems;
}
