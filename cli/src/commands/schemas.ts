import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  type CompatibilityProblem,
  SchemaCatalog,
  type SchemaFiles,
  checkBackwardCompatibility,
  publishedSnapshotText,
  readPublishedSnapshot,
  readSchemaFiles,
  schemaFileChanges,
} from '@registo/schemas';

const SNAPSHOT = 'schemas/published.json';

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** The .avsc files under `dir` (relative to the repository root) as they are at `ref`. */
export function schemaFilesAt(repo: string, ref: string, dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const prefix = `${dir.replace(/\/$/, '')}/`;
  for (const path of git(repo, ['ls-tree', '-r', '--name-only', ref, '--', prefix]).split('\n')) {
    if (!path.endsWith('.avsc')) continue;
    out.set(path.slice(prefix.length), git(repo, ['show', `${ref}:${path}`]));
  }
  return out;
}

interface LocationOptions {
  repo: string;
  dir: string;
  snapshot: string;
}

/** The repository root: git's top level when `repo` is inside a work tree (so any subfolder works), else `repo` itself. */
function repositoryRoot(repo: string): string {
  try {
    return git(repo, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return resolve(repo);
  }
}

/** The baseline: the schemas at a git ref when `--against` is given, else the published snapshot. */
function baselineOf(root: string, opts: LocationOptions & { against?: string }): { files: SchemaFiles; name: string } {
  if (opts.against === undefined) return { files: readPublishedSnapshot(join(root, opts.snapshot)), name: `the published snapshot ${opts.snapshot}` };
  try {
    git(root, ['rev-parse', '--verify', '--quiet', `${opts.against}^{commit}`]);
  } catch {
    throw new Error(`'${opts.against}' is not a commit in ${root}; pass --against <ref>, or leave it out to check against ${opts.snapshot}`);
  }
  return { files: schemaFilesAt(root, opts.against, opts.dir), name: opts.against };
}

function reportProblems(problems: CompatibilityProblem[], name: string): void {
  process.stderr.write(`schemas: ${problems.length} BACKWARD-incompatible change(s) against ${name}:\n`);
  for (const p of problems) process.stderr.write(`  ✗ ${p.subject}: ${p.problem}\n`);
  process.exitCode = 1;
}

/** What is not yet published: new or changed files are fine, but partners do not have them yet. */
function unpublishedLine(baseline: SchemaFiles, current: SchemaFiles): string {
  const { added, changed } = schemaFileChanges(baseline, current);
  if (added.length + changed.length === 0) return '';
  return `schemas: not yet published: ${[...added.map((f) => `${f} (new)`), ...changed.map((f) => `${f} (changed)`)].join(', ')}\n`;
}

function check(opts: LocationOptions & { against?: string }): void {
  const root = repositoryRoot(opts.repo);
  const baseline = baselineOf(root, opts);
  const current = readSchemaFiles(join(root, opts.dir));
  const problems = checkBackwardCompatibility(baseline.files, current);
  if (problems.length > 0) return reportProblems(problems, baseline.name);
  process.stdout.write(`schemas: ${current.size} files BACKWARD compatible with ${baseline.name} (${baseline.files.size} files there)\n`);
  if (opts.against === undefined) process.stdout.write(unpublishedLine(baseline.files, current));
}

/** The snapshot there now, or none (the first `publish`). */
function previousSnapshot(path: string): SchemaFiles | null {
  return existsSync(path) ? readPublishedSnapshot(path) : null;
}

function publish(opts: LocationOptions & { allowBreaking?: boolean }): void {
  const root = repositoryRoot(opts.repo);
  const current = readSchemaFiles(join(root, opts.dir));
  const previous = previousSnapshot(join(root, opts.snapshot));
  // The first snapshot has nothing to be compatible with, but must load; later ones must not break the last.
  const problems = previous ? checkBackwardCompatibility(previous, current) : [];
  if (!previous) new SchemaCatalog(current);
  if (problems.length > 0 && !opts.allowBreaking) {
    reportProblems(problems, `the published snapshot ${opts.snapshot}`);
    process.stderr.write('schemas: nothing published; pass --allow-breaking to publish a break anyway\n');
    return;
  }
  const { added, changed, removed } = schemaFileChanges(previous ?? new Map(), current);
  writeFileSync(join(root, opts.snapshot), publishedSnapshotText(current));
  process.stdout.write(`schemas: published ${current.size} files to ${opts.snapshot} (${added.length} new, ${changed.length} changed, ${removed.length} removed); commit it\n`);
}

const CHECK_HELP = `
By default the working tree's schemas (--dir) are compared with the committed snapshot of the
published schemas (--snapshot, written by \`registo schemas publish\`), so the check also fails
on main when a published schema is changed in a breaking way. --against <ref> compares with the
schemas at a git ref instead (e.g. a release tag). Exit status 1 lists each break.`;

const PUBLISH_HELP = `
Run it when the schemas are released to partners and the registry, and commit the file it
writes. It refuses a snapshot that breaks BACKWARD compatibility with the one before.`;

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('Avro event schemas: list them, check compatibility, record the published ones');

  schemas
    .command('list')
    .description('list every event type and version with its category')
    .action(() => {
      for (const s of SchemaCatalog.load().all()) process.stdout.write(`${s.category.padEnd(12)} ${s.type} v${s.version}  (${s.file})\n`);
    });

  schemas
    .command('check')
    .description(`fail when a schema change breaks BACKWARD compatibility with the published schemas (${SNAPSHOT}), or with a git ref`)
    .option('--snapshot <file>', 'published schema snapshot, inside the repository', SNAPSHOT)
    .option('--against <ref>', 'compare with the schemas at this git ref instead of the snapshot')
    .option('--repo <dir>', 'repository root', '.')
    .option('--dir <path>', 'schema folder inside the repository', 'schemas/avro')
    .addHelpText('after', CHECK_HELP)
    .action(check);

  schemas
    .command('publish')
    .description(`record the working tree's schemas as the published ones (rewrites ${SNAPSHOT})`)
    .option('--snapshot <file>', 'published schema snapshot, inside the repository', SNAPSHOT)
    .option('--repo <dir>', 'repository root', '.')
    .option('--dir <path>', 'schema folder inside the repository', 'schemas/avro')
    .option('--allow-breaking', 'publish even when the change breaks BACKWARD compatibility with the last snapshot')
    .addHelpText('after', PUBLISH_HELP)
    .action(publish);
}
