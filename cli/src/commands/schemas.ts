import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SchemaCatalog, checkBackwardCompatibility, readSchemaFiles } from '@registo/schemas';

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

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('Avro event schemas: list them, check compatibility');

  schemas
    .command('list')
    .description('list every event type and version with its category')
    .action(() => {
      for (const s of SchemaCatalog.load().all()) process.stdout.write(`${s.category.padEnd(12)} ${s.type} v${s.version}  (${s.file})\n`);
    });

  schemas
    .command('check')
    .description('fail when a schema change breaks BACKWARD compatibility with the version on another branch (default main)')
    .option('--against <ref>', 'git ref holding the published schemas', 'main')
    .option('--repo <dir>', 'repository root', '.')
    .option('--dir <path>', 'schema folder inside the repository', 'schemas/avro')
    .action((opts: { against: string; repo: string; dir: string }) => {
      const repo = git(opts.repo, ['rev-parse', '--show-toplevel']).trim();
      try {
        git(repo, ['rev-parse', '--verify', '--quiet', `${opts.against}^{commit}`]);
      } catch {
        throw new Error(`'${opts.against}' is not a commit in ${repo}; pass --against <ref>`);
      }
      const baseline = schemaFilesAt(repo, opts.against, opts.dir);
      const current = readSchemaFiles(join(repo, opts.dir));
      const problems = checkBackwardCompatibility(baseline, current);
      if (problems.length === 0) {
        process.stdout.write(`schemas: ${current.size} files BACKWARD compatible with ${opts.against} (${baseline.size} files there)\n`);
        return;
      }
      process.stderr.write(`schemas: ${problems.length} BACKWARD-incompatible change(s) against ${opts.against}:\n`);
      for (const p of problems) process.stderr.write(`  ✗ ${p.subject}: ${p.problem}\n`);
      process.exitCode = 1;
    });
}
