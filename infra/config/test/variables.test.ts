import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import { VARIABLES, VARIABLE_NAMES, variablesHelp, variablesMarkdown } from '@registo/base';
import { loadSignerConfig } from '@registo/hsm';
import { loadTrustConfig } from '@registo/trust';
import { loadConfig } from '../src/index.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The platform's code: infra, and the CLI's composition of `registo start`. */
const platformSources = [
  ...readdirSync(join(repo, 'infra'))
    .filter((name) => existsSync(join(repo, 'infra', name, 'src')))
    .flatMap((name) => sources(join(repo, 'infra', name, 'src'))),
  ...['start.ts'].map((f) => join(repo, 'cli/src/commands', f)),
  join(repo, 'cli/src/platform.ts'),
  join(repo, 'cli/src/sync-wiring.ts'),
  ...sources(join(repo, 'cli/src/composition')),
  ...sources(join(repo, 'cli/src/roles')),
];

describe('the configuration variable table', () => {
  it('holds every variable the platform reads (env.X, env["X"], process.env.X)', () => {
    const read = new Map<string, string>();
    for (const file of platformSources) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) read.set(m[1] ?? m[2]!, file.slice(repo.length));
    }
    expect(read.size, 'the scan finds the direct reads (SOFTHSM2_CONF in the PKCS#11 token, …)').to.be.greaterThan(0);
    const missing = [...read].filter(([name]) => !(name in VARIABLES)).map(([name, file]) => `${name} (${file})`);
    expect(missing).to.deep.equal([]);
  });

  it('has no variable that no reader parses', () => {
    // Each reader names its variables in a `…_VARIABLES = [...]` list handed to readVariables.
    const parsed = new Set<string>();
    for (const file of platformSources) {
      for (const list of readFileSync(file, 'utf8').matchAll(/_VARIABLES = \[([^\]]*)\]/g)) for (const m of list[1]!.matchAll(/'([A-Z0-9_]+)'/g)) parsed.add(m[1]!);
    }
    expect(VARIABLE_NAMES.filter((n) => !parsed.has(n))).to.deep.equal([]);
  });

  it('`start --help` text and the README list every variable with its default', () => {
    const help = variablesHelp();
    for (const name of VARIABLE_NAMES) expect(help).to.match(new RegExp(`^  ${name}  \\(default: `, 'm'));
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const table = variablesMarkdown();
    expect(readme.includes(table), `README.md's variables table differs from the table in infra/base/src/config/variables.ts; it should read:\n${table}`).to.equal(true);
  });
});

describe('the public URL', () => {
  it('is derived from PORT (and HOST) unless REGISTO_PUBLIC_URL is set; the audit origin follows it', () => {
    const c = loadConfig({ PORT: '58080' });
    expect(c.publicUrl).to.equal('http://127.0.0.1:58080');
    expect(c.audit.origin).to.equal('127.0.0.1:58080/audit');
    expect(loadTrustConfig({ PORT: '58080' }).publicUrl, 'the key ceremony uses the same URL').to.equal('http://127.0.0.1:58080');
    expect(loadConfig({ PORT: '58081', HOST: 'registo.example.test' }).publicUrl).to.equal('http://registo.example.test:58081');
    expect(loadConfig({ HOST: '0.0.0.0' }).publicUrl, 'every interface names no host').to.equal('http://127.0.0.1:8080');
    expect(loadConfig({ HOST: '::1', PORT: '58082' }).publicUrl).to.equal('http://[::1]:58082');
    const explicit = loadConfig({ PORT: '58080', REGISTO_PUBLIC_URL: 'https://id.example.test/' });
    expect(explicit.publicUrl).to.equal('https://id.example.test');
    expect(explicit.audit.origin).to.equal('id.example.test/audit');
  });

  it('a malformed variable of any reader is CONFIG_INVALID naming it', () => {
    for (const env of [{ REGISTO_PUBLIC_URL: 'ftp://x' }, { PORT: '70000' }, { KAFKA_BROKERS: 'k:9092', REGISTO_TOPIC_PREFIX: 'Upper' }, { REGISTO_SIGNER_MODE: 'maybe' }]) {
      const name = Object.keys(env).at(-1)!;
      try {
        loadConfig(env);
        expect.fail(`accepted ${JSON.stringify(env)}`);
      } catch (e) {
        expect(isRegistoError(e) && e.code, name).to.equal('CONFIG_INVALID');
        expect((e as Error).message).to.contain(name);
      }
    }
  });
});

describe('configuration refusals', () => {
  const refusal = (load: () => unknown): { message: string; problems: unknown } => {
    try {
      load();
    } catch (e) {
      if (isRegistoError(e) && e.code === 'CONFIG_INVALID') return { message: e.message, problems: e.details.problems };
      throw e;
    }
    throw new Error('expected CONFIG_INVALID');
  };

  it('name every problem on a line of its own and in details.problems, whichever check finds them', () => {
    const malformed = refusal(() => loadConfig({ PORT: 'eighty', REGISTO_UIN_LENGTH: '11' }));
    expect(malformed.message.split('\n')[0]).to.equal('invalid configuration:');
    expect(malformed.problems).to.be.an('array').with.length(2);
    for (const p of malformed.problems as string[]) expect(malformed.message).to.include(`\n  ${p}`);

    const signer = refusal(() => loadSignerConfig({ REGISTO_SIGNER_MODE: 'qualified', REGISTO_PKCS11_MODULE: '/lib/softhsm2.so' }));
    expect(signer.problems).to.deep.equal([
      'REGISTO_PKCS11_TOKEN: required when REGISTO_SIGNER_MODE=qualified (keys only in the PKCS#11 token, no software fallback)',
      'REGISTO_PKCS11_PIN: required when REGISTO_SIGNER_MODE=qualified (keys only in the PKCS#11 token, no software fallback)',
    ]);
    expect(signer.message).to.equal(`invalid configuration:\n  ${(signer.problems as string[]).join('\n  ')}`);

    // Roles: the message words the problem for people, details keep the short form.
    const roles = refusal(() => loadConfig({ REGISTO_ROLES: 'api,printer' }));
    expect(roles.message).to.match(/^invalid configuration:\n {2}REGISTO_ROLES: unknown role\(s\) printer; known: all, /);
    expect(roles.problems).to.deep.equal(['REGISTO_ROLES: unknown printer']);
    const mirror = refusal(() => loadConfig({ REGISTO_ROLES: 'mirror' }));
    expect(mirror.message).to.equal('invalid configuration:\n  REGISTO_ROLES: the mirror role needs KAFKA_BROKERS');
    expect(mirror.problems).to.deep.equal(['mirror needs KAFKA_BROKERS']);
  });
});
