import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

/*
 * The lint's architecture rules (docs/architecture.md, "Lint"): each workspace README's
 * "May import:" line becomes its import boundary, and event data is never cast. Linted here
 * without type information (the rules that need it are switched off), so this runs in a second
 * or two; `npm run lint` runs everything over the real files.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Workspace { dir: string; name: string; mayImport: 'any' | string[]; nested: string[] }
interface WorkspacesModule { listWorkspaces(root: string): Workspace[] }

const loadWorkspaces = async (): Promise<WorkspacesModule> =>
  (await import(pathToFileURL(join(REPO, 'scripts', 'workspaces.mjs')).href)) as WorkspacesModule;

const eslint = new ESLint({ cwd: REPO, overrideConfig: tseslint.configs.disableTypeChecked });

/** The rule ids reported for `code` as if it were the file `filePath` of the repository. */
async function findings(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(REPO, filePath) });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('lint: import boundaries from the READMEs', () => {
  it('refuses a workspace its README does not name, statically, re-exported or dynamically', async () => {
    const code = [
      "import { registeredRoutes } from '@registo/gateways';",
      "export { startPlatform } from '@registo/cli';",
      "export const later = () => import('@registo/consumers');",
      'export const routes = registeredRoutes;',
      '',
    ].join('\n');
    expect(await findings('producers/src/probe.ts', code)).to.deep.equal([
      '@typescript-eslint/no-restricted-imports',
      '@typescript-eslint/no-restricted-imports',
      'no-restricted-syntax',
    ]);
  });

  it('lets a workspace import what its README names, and cli and test anything', async () => {
    const code = "import { fold } from '@registo/producers';\nimport { SqlEventStore } from '@registo/event-store';\nexport const used = [fold, SqlEventStore];\n";
    expect(await findings('consumers/src/probe.ts', code)).to.deep.equal([]);
    expect(await findings('projections/src/probe.ts', code)).to.deep.equal(['@typescript-eslint/no-restricted-imports']);
    const any = "import { registeredRoutes } from '@registo/gateways';\nexport const routes = registeredRoutes;\n";
    expect(await findings('cli/src/probe.ts', any)).to.deep.equal([]);
    expect(await findings('test/unit/probe.ts', any)).to.deep.equal([]);
  });

  it('finds every workspace of the root package.json, each with its README line', async () => {
    const { listWorkspaces } = await loadWorkspaces();
    const byDir = new Map(listWorkspaces(REPO).map((w) => [w.dir, w]));
    expect(byDir.get('schemas')?.mayImport).to.deep.equal([]);
    expect(byDir.get('producers')?.mayImport).to.include('@registo/schemas').and.not.include('@registo/gateways');
    expect(byDir.get('cli')?.mayImport).to.equal('any');
  });

  it('discovers nested packages from a workspaces glob and stops on a README without its line', async () => {
    const { listWorkspaces } = await loadWorkspaces();
    const root = mkdtempSync(join(tmpdir(), 'registo-lint-'));
    try {
      const pkg = (dir: string, name: string, readme: string | null) => {
        mkdirSync(join(root, dir), { recursive: true });
        writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name }));
        if (readme !== null) writeFileSync(join(root, dir, 'README.md'), `# ${name}\n\n${readme}\n`);
      };
      writeFileSync(join(root, 'package.json'), JSON.stringify({ workspaces: ['base', 'base/*'] }));
      pkg('base', '@registo/base', 'May import: no workspace.');
      pkg('base/store', '@registo/store', 'May import: `@registo/base`.');
      const found = listWorkspaces(root);
      expect(found.map((w) => [w.dir, w.mayImport])).to.deep.equal([['base', []], ['base/store', ['@registo/base']]]);
      expect(found[0]!.nested).to.deep.equal(['base/store']);

      pkg('base/audit', '@registo/audit', 'It may import what it likes.');
      expect(() => listWorkspaces(root)).to.throw(/base\/audit\/README\.md: needs exactly one line starting "May import:"/);
      pkg('base/audit', '@registo/audit', 'May import: `@registo/nothing`.');
      expect(() => listWorkspaces(root)).to.throw(/names @registo\/nothing, which is no workspace/);
      pkg('base/audit', '@registo/audit', 'May import: schemas and infra.');
      expect(() => listWorkspaces(root)).to.throw(/base\/audit\/README\.md: "May import: schemas and infra\."/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('lint: no cast on event data in src', () => {
  const code = [
    "import type { EventEnvelope } from '@registo/schemas';",
    "import { fold, type Decider } from '@registo/producers';",
    'export function read(e: EventEnvelope, d: Decider<never, unknown, never>) {',
    '  const a = e.data as { uin: string };',
    '  const b = e.data.uin as string;',
    '  const c = fold(d, []) as { status: string };',
    '  return [a, b, c];',
    '}',
    '',
  ].join('\n');

  it('reports x.data as T, x.data.field as T and fold(...) as T in production code', async () => {
    expect(await findings('consumers/src/probe.ts', code)).to.deep.equal(['no-restricted-syntax', 'no-restricted-syntax', 'no-restricted-syntax']);
  });

  it('leaves tests alone', async () => {
    expect(await findings('consumers/test/probe.test.ts', code)).to.deep.equal([]);
  });
});
