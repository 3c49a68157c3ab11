import { expect } from 'chai';
import { join } from 'node:path';
import { type Expectation, type GuidePlatform, repo, runGuide, startGuidePlatform } from './guide-shell.js';

const guide = join(repo, 'docs', 'credentials.md');

/**
 * docs/credentials.md, every shell example in order, as written apart from the port variables,
 * against `registo start` after the demo: the UINs are the ones the guide's own first command
 * takes from the print bureau's export.
 */
describe('docs/credentials.md: every shell example, as written, against a running platform', function () {
  this.timeout(600_000);
  let platform: GuidePlatform | undefined;

  after(async () => platform?.stop());

  it('each command exits 0 and shows what the guide says it shows', async () => {
    platform = await startGuidePlatform('registo-credentials-doc-');
    const { shell } = platform;
    const demo = await shell.run('npx registo demo --enrollments 10');
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).to.equal(0);
    // As a reader waits before the guide's first command: the demo's VCs issued (two to print).
    const deadline = Date.now() + 120_000;
    for (;;) {
      const orders = await (await fetch(`${platform.url}/v1/print-orders?limit=2`, { headers: { authorization: 'Bearer dev-print-bureau' } })).text();
      if (orders.trim().split('\n').filter((l) => l.length > 0).length === 2) break;
      if (Date.now() > deadline) throw new Error(`no two print orders after the demo: ${orders}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const value = async (name: string): Promise<string> => (await shell.run(`printf %s "$${name}"`)).stdout;
    const quiet: Expectation = (out) => expect(out).to.equal('');
    const json = (out: string): Record<string, unknown> => JSON.parse(out) as Record<string, unknown>;

    const expected: Array<[RegExp, Expectation]> = [
      [/^[A-Z0-9]+=(?!\$\()\S+$/, quiet],
      [/^read -r U O /, quiet],
      [/^echo "\$U \$O"/, async (out) => expect(out.trim()).to.equal(`${await value('U')} ${await value('O')}`).and.match(/^\d{6,} \d{6,}$/)],
      [/^openssl (ecparam|req) /, quiet],
      [/credentials\/x509 .*\| jq -r \.credentialId$/, async (out) => expect(out.trim()).to.match(new RegExp(`^x509-${await value('U')}-[0-9a-f]{32}$`))],
      [/dev-holder-channel' \$B\/v1\/holders\/\$U\/credentials \| jq -r \.code$/, (out) => expect(out.trim()).to.equal('HOLDER_PROOF_REQUIRED')],
      [/^P=\$\(npm run -s registo -- holder proof /, quiet],
      [/\$B\/v1\/holders\/\$U\/credentials \| jq -r '\.items\[\]\.credentialId'$/, async (out) => {
        const u = await value('U');
        expect(out.trim().split('\n')).to.include(`nid-${u}-r0`).and.satisfy((ids: string[]) => ids.some((id) => id.startsWith(`x509-${u}-`)));
      }],
      [/nid-\$U-r0 \| jq -r \.credential \| cut -c1-40$/, (out) => expect(out.trim()).to.equal('eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK2p3dCIs')],
      [/nid-\$U-r0 \| jq -r \.code$/, (out) => expect(out.trim()).to.equal('HOLDER_PROOF_INVALID')],
      [/holders\/\$O\/credentials \| jq -r \.code$/, (out) => expect(out.trim()).to.equal('HOLDER_NOT_BOUND')],
      [/readyz \| jq \.refusals$/, (out) =>
        expect(json(out)).to.deep.equal({ total: 3, byReason: { 'HOLDER_NOT_BOUND:HOLDER_NOT_BOUND': 1, 'HOLDER_PROOF_INVALID:HOLDER_PROOF_INVALID': 1, 'HOLDER_PROOF_REQUIRED:HOLDER_PROOF_MISSING': 1 } })],
      [/^QR=\$\(curl .*print-orders.*jq -r \.qr\)$/, quiet],
      [/^node -e .*inflateSync.* "\$QR"$/, (out) => expect(out.trim()).to.match(/^eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK2p3dCIs[\w-]*\.[\w-]+\.[\w-]+$/)],
      [/dev-officer' \$B\/v1\/holders\/\$U\/credentials$/, async (out) => expect((json(out).items as Array<{ credentialId: string }>).map((i) => i.credentialId)).to.include(`nid-${await value('U')}-r0`)],
      [/^(JWT|RID)=\$\(curl /, quiet],
      [/\/v1\/verify-credential /, (out) => expect(json(out)).to.include({ valid: true, status: 'ACTIVE' })],
      [/\/approve -H 'authorization: Bearer dev-approver'$/, (out) => expect(json(out)).to.include({ state: 'APPROVED' })],
      [/\/approve -H 'authorization: Bearer dev-approver' \| jq -r \.state$/, (out) => expect(out.trim()).to.equal('APPROVED')],
      [/status-lists\/1-suspension .*jq \.credentialSubject$/, (out) => expect(json(out)).to.include({ type: 'BitstringStatusList', statusPurpose: 'suspension' })],
      [/credentials\/x509 .* > x509\.json$/, async () => expect(json((await shell.run('cat x509.json')).stdout)).to.include({ issued: true })],
      [/^jq -r \.certificatePem x509\.json > holder\.pem$/, quiet],
      [/^openssl verify /, (out) => expect(out.trim()).to.equal('holder.pem: OK')],
      // Good, still good while the revocation waits for its approver, revoked once approved.
      [/^until openssl ocsp .*grep -q 'holder\.pem: revoked'; do sleep 0\.2; done$/, quiet],
      [/^openssl ocsp /, (out, nth) => expect(out).to.match(nth < 2 ? /^holder\.pem: good$/m : /^holder\.pem: revoked$/m)],
      [/^curl -s -D - .*print-orders/, (out) => {
        expect(out).to.match(/^registo-next-cursor: \d+/im);
        const lines = out.split(/\r?\n\r?\n/)[1]!.trim().split('\n');
        expect(lines.length).to.be.greaterThan(1);
        expect(json(lines[0]!)).to.include.keys('uin', 'qr', 'credentialId');
      }],
    ];
    const { commands, skipped } = await runGuide(guide, shell, platform.ports, expected);
    expect(commands).to.be.greaterThan(30);
    expect(skipped).to.have.length(1);
    console.log(`      ran ${commands} commands of docs/credentials.md; not run: ${skipped.join('; ')}`);
  });
});

