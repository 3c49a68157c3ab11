import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { toQrPayload } from '../src/qr.js';

/** docs/credentials.md, found from this file (src or dist) by walking up to the repository. */
function credentialsGuide(): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    try {
      return readFileSync(fileURLToPath(new URL('docs/credentials.md', dir)), 'utf8');
    } catch (e) {
      if (fileURLToPath(dir) === '/') throw e;
    }
  }
}

describe('docs/credentials.md: the QR decoding line', () => {
  it('runs with Node alone and prints the JWT the payload carries', () => {
    const line = credentialsGuide().split('\n').find((l) => l.startsWith("node -e '") && l.includes('inflateSync'));
    expect(line, 'the guide has a `node -e` QR decoding line').to.be.a('string');
    const code = line!.slice("node -e '".length, line!.lastIndexOf("'"));
    // A JWT-like text of varied length, so that both a full 3-character group and a final 2-character one occur.
    for (const jwt of ['eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1cm46cmVnaXN0bzp1aW46MTIzIn0.c2ln', `eyJ0eXAiOiJ2Yytqd3QifQ.${'x'.repeat(3001)}.sig`]) {
      const printed = execFileSync(process.execPath, ['-e', code, toQrPayload(jwt)], { encoding: 'utf8' });
      expect(printed).to.equal(`${jwt}\n`);
    }
  });
});
