import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../src/index.js';

/** Clients switch on these codes: each is in docs/errors.md with the status the gateways answer. */
describe('error codes are documented', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  it('docs/errors.md has a row for every code, with its HTTP status', () => {
    const missing = Object.entries(ErrorCodes).filter(([code, status]) => !new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`).test(doc));
    expect(missing.map(([code, status]) => `${code} (${status})`)).to.deep.equal([]);
  });
});
