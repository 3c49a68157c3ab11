import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

// `npm ci` warns (EBADENGINE) about every locked package whose `engines.node` the running Node does
// not satisfy. The README names the Node the project runs on and package.json's `engines` says the
// lowest release of it; every locked package must accept that release, so no warning is printed.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(root, file), 'utf8'));

interface LockedPackage { version?: string; engines?: { node?: string } | string[] }

function lockedPackages(): Array<[string, LockedPackage]> {
  const lock = readJson('package-lock.json') as { packages: Record<string, LockedPackage> };
  return Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/') || path.includes('/node_modules/'));
}

/** Old lock entries may hold `engines` as an array of strings; only the object form names a range. */
function nodeRange(pkg: LockedPackage): string | undefined {
  return pkg.engines === undefined || Array.isArray(pkg.engines) ? undefined : pkg.engines.node;
}

describe('the Node the project states', () => {
  const engines = (readJson('package.json') as { engines: { node: string } }).engines.node;
  const lowest = semver.minVersion(engines);

  it('is the Node the README names', () => {
    const named = /with Node (\d+)/.exec(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(named, 'README names no Node version').to.not.equal(null);
    expect(lowest?.major).to.equal(Number(named?.[1]));
  });

  it('is accepted by every locked package, so `npm ci` prints no engine warning', () => {
    expect(lowest).to.not.equal(null);
    const refusing = lockedPackages().flatMap(([path, pkg]) => {
      const wanted = nodeRange(pkg);
      if (wanted === undefined || semver.satisfies(lowest!, wanted, { includePrerelease: true })) return [];
      return [`${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${pkg.version} wants node ${wanted}`];
    });
    expect(refusing).to.deep.equal([]);
  });
});
