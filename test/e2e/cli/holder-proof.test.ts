import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { publicKeySha256, verifyHolderProof } from '@registo/credentials';
import { runCli } from './run-cli.js';

describe('registo holder proof', function () {
  this.timeout(60_000);

  it('signs a proof for one request with an openssl P-256 key; the platform verifies it and names that key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registo-holder-'));
    const keyFile = join(dir, 'holder.key');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
    const path = '/v1/holders/2345678901/credentials/x509';
    const out = await runCli(['holder', 'proof', '--key', keyFile, '--uin', '2345678901', '--path', path, '--method', 'post']);
    expect(out.code, out.stderr).to.equal(0);
    const proof = out.stdout.trim();
    const verified = await verifyHolderProof(proof, { method: 'POST', path });
    expect(verified.uin).to.equal('2345678901');
    expect(verified.publicKeySha256).to.equal(publicKeySha256(createPublicKey(createPrivateKey(readFileSync(keyFile)))));
    // For that request only.
    let refused = '';
    await verifyHolderProof(proof, { method: 'GET', path }).catch((e: { code: string }) => (refused = e.code));
    expect(refused).to.equal('HOLDER_PROOF_INVALID');
  });
});
