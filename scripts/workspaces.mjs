// The workspaces of the root package.json, and what each one's README says it may import.
// eslint.config.js turns the README line into its import-boundary rule, so the README and the
// linter cannot disagree: a workspace whose README has no such line, or a malformed one, stops
// the lint with an error naming the README.
//
// The line, alone on its line in the workspace's README.md:
//   May import: `@registo/schemas`, `@registo/event-store`.
//   May import: no workspace.
//   May import: any workspace.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const NAME = '`?(@registo/[a-z0-9-]+)`?';
const LIST = new RegExp(`^${NAME}(?:, ${NAME})*$`);

/** Expands the `workspaces` entries: plain folders, and folders whose segments may be `*`. */
function expand(root, pattern) {
  let dirs = [root];
  for (const segment of pattern.split('/')) {
    if (segment === '*') {
      dirs = dirs.flatMap((d) => readdirSync(d).map((e) => join(d, e)).filter((p) => statSync(p).isDirectory()));
    } else if (/[*?[\]{}!]/.test(segment)) {
      throw new Error(`package.json workspaces: "${pattern}" — only plain folders and * segments are understood`);
    } else {
      dirs = dirs.map((d) => join(d, segment)).filter((p) => existsSync(p));
    }
  }
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

/** `'any'`, or the workspace names the README allows (possibly none). */
export function parseMayImport(readmeText, readmePath) {
  const lines = readmeText.split('\n').filter((l) => l.startsWith('May import:'));
  if (lines.length !== 1) {
    throw new Error(`${readmePath}: needs exactly one line starting "May import:" (found ${lines.length})`);
  }
  const body = lines[0].slice('May import:'.length).trim().replace(/\.$/, '');
  if (body === 'any workspace') return 'any';
  if (body === 'no workspace') return [];
  if (!LIST.test(body)) {
    throw new Error(`${readmePath}: "${lines[0]}" — write "May import: \`@registo/a\`, \`@registo/b\`.", "no workspace." or "any workspace."`);
  }
  return body.split(', ').map((n) => n.replaceAll('`', ''));
}

/** Every workspace: its folder (relative to the root), package name and allowed imports. */
export function listWorkspaces(root = process.cwd()) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [...new Set(pkg.workspaces.flatMap((w) => expand(root, w)))];
  const workspaces = dirs.map((abs) => {
    const dir = relative(root, abs).split('\\').join('/');
    const name = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8')).name;
    const readme = join(abs, 'README.md');
    if (!existsSync(readme)) throw new Error(`${dir}: a workspace needs a README.md with its "May import:" line`);
    return { dir, name, readme: `${dir}/README.md`, mayImport: parseMayImport(readFileSync(readme, 'utf8'), `${dir}/README.md`) };
  });
  const names = new Set(workspaces.map((w) => w.name));
  for (const w of workspaces) {
    for (const allowed of w.mayImport === 'any' ? [] : w.mayImport) {
      if (!names.has(allowed)) throw new Error(`${w.readme}: "May import:" names ${allowed}, which is no workspace`);
      if (allowed === w.name) throw new Error(`${w.readme}: "May import:" names the workspace itself`);
    }
  }
  return workspaces.map((w) => ({
    ...w,
    // Folders of workspaces nested inside this one (e.g. infra/<concern>/): their files are theirs.
    nested: workspaces.filter((o) => o !== w && o.dir.startsWith(`${w.dir}/`)).map((o) => o.dir),
  }));
}

export const repoRoot = resolve(import.meta.dirname, '..');
