import type avro from 'avsc';
import { SchemaCatalog, type SchemaFiles } from './catalog.js';

export interface CompatibilityProblem {
  subject: string;
  problem: string;
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
