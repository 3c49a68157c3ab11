import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import { SoftwareSigner } from '@registo/hsm';
import {
  ecdsaKeyId,
  extensionValue,
  formatCheckpointBody,
  parseCheckpointBody,
  parseNote,
  signNote,
  verifyNoteSignature,
} from '../src/index.js';

describe('C2SP checkpoints as signed notes (ECDSA, type 0x02)', () => {
  const signer = SoftwareSigner.generate('checkpoint-test');
  const root = createHash('sha256').update('root').digest();

  it('formats and parses the checkpoint body, extensions included', () => {
    const body = formatCheckpointBody({ origin: 'registo.example/audit', treeSize: 42, rootHash: root, extensions: ['previous abc=', 'signer-mode non_qualified'] });
    expect(body).to.equal(`registo.example/audit\n42\n${root.toString('base64')}\nprevious abc=\nsigner-mode non_qualified\n`);
    const parsed = parseCheckpointBody(body);
    expect(parsed.treeSize).to.equal(42);
    expect(parsed.rootHash.equals(root)).to.equal(true);
    expect(extensionValue(parsed, 'signer-mode')).to.equal('non_qualified');
    for (const bad of ['o\n01\nAAAA\n', 'o\n1\n', `o\n1\n${root.toString('base64')}`, `o\n1\n${root.toString('base64')}\n\n`]) {
      expect(() => parseCheckpointBody(bad), JSON.stringify(bad)).to.throw().that.satisfies((e: unknown) => isRegistoError(e, 'AUDIT_NOTE_INVALID'));
    }
  });

  it('signs the body; the signature verifies with the key and not after a change of one byte', async () => {
    const spki = await signer.publicKeySpki();
    const body = formatCheckpointBody({ origin: 'registo.example/audit', treeSize: 7, rootHash: root, extensions: [] });
    const note = await signNote(body, 'registo.example/audit', spki, (d) => signer.sign(d));
    const parsed = parseNote(note);
    expect(parsed.body).to.equal(body);
    expect(parsed.signatures).to.have.length(1);
    expect(parsed.signatures[0]!.keyId.equals(ecdsaKeyId(spki))).to.equal(true);
    expect(parsed.signatures[0]!.keyId.equals(createHash('sha256').update(spki).digest().subarray(0, 4))).to.equal(true);
    expect(verifyNoteSignature(parsed, 'registo.example/audit', spki)).to.equal(true);
    const altered = parseNote(note.replace('\n7\n', '\n8\n'));
    expect(verifyNoteSignature(altered, 'registo.example/audit', spki)).to.equal(false);
    const other = await SoftwareSigner.generate('other').publicKeySpki();
    expect(verifyNoteSignature(parsed, 'registo.example/audit', other)).to.equal(false);
    expect(verifyNoteSignature(parsed, 'another.example/log', spki)).to.equal(false);
  });

  it('refuses notes that are not signed notes', () => {
    for (const bad of ['no blank line\n', 'a\n\nnot a signature line\n', 'a\x01\n\n— k AAAAAAAA\n']) {
      expect(() => parseNote(bad)).to.throw().that.satisfies((e: unknown) => isRegistoError(e, 'AUDIT_NOTE_INVALID'));
    }
  });
});
