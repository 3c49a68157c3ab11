import { expect } from 'chai';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRegistoError } from '@registo/schemas';
import { Journal, type JournalEntry } from '../src/journal.js';

async function entriesOf(file: string): Promise<JournalEntry[]> {
  const { journal, entries } = await replayed(file);
  await journal.close();
  return entries;
}

async function replayed(file: string): Promise<{ journal: Journal; entries: JournalEntry[] }> {
  const entries: JournalEntry[] = [];
  const journal = await Journal.open(file, (e) => entries.push(e));
  return { journal, entries };
}

async function refusal(file: string, apply: (e: JournalEntry) => void = () => undefined): Promise<unknown> {
  try {
    const journal = await Journal.open(file, apply);
    await journal.close();
  } catch (e) {
    return e;
  }
  throw new Error('the journal opened');
}

describe('simulator state journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registo-journal-'));
  });

  it('replays what was saved, in order, after a reopen; a missing file is an empty journal', async () => {
    const file = join(dir, 'nested', 'abis.jsonl');
    const first = await replayed(file);
    expect(first.entries).to.deep.equal([]);
    for (let i = 0; i < 50; i++) first.journal.append({ op: 'enrol', n: i });
    await first.journal.saved();
    await first.journal.close();
    const second = await replayed(file);
    expect(second.entries.map((e) => e.n)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    await second.journal.close();
  });

  it('drops a torn last line (a write cut short) and appends after the last complete one', async () => {
    const file = join(dir, 'siga.jsonl');
    await writeFile(file, `${JSON.stringify({ op: 'update', n: 1 })}\n{"op":"update","n":2,"rec`);
    const { journal, entries } = await replayed(file);
    expect(entries).to.deep.equal([{ op: 'update', n: 1 }]);
    journal.append({ op: 'update', n: 3 });
    await journal.saved();
    await journal.close();
    expect(await readFile(file, 'utf8')).to.equal(`${JSON.stringify({ op: 'update', n: 1 })}\n${JSON.stringify({ op: 'update', n: 3 })}\n`);
    expect((await entriesOf(file)).map((e) => e.n)).to.deep.equal([1, 3]);
  });

  it('refuses a garbled complete line with SIMULATOR_STATE_UNREADABLE naming the file and line, not its content', async () => {
    const file = join(dir, 'immigration.jsonl');
    await writeFile(file, `${JSON.stringify({ op: 'update' })}\n{"op":"update","surname":"Trovoada"\n${JSON.stringify({ op: 'update' })}\n`);
    const e = await refusal(file);
    expect(isRegistoError(e, 'SIMULATOR_STATE_UNREADABLE'), String(e)).to.equal(true);
    expect((e as Error).message).to.include(file).and.include('line 2').and.not.include('Trovoada');
    expect((e as { details: unknown }).details).to.deep.equal({ file, line: 2 });
  });

  it('refuses JSON that is not an entry, and an entry its simulator does not understand', async () => {
    const file = join(dir, 'abis.jsonl');
    await writeFile(file, '[1,2]\n');
    expect(await refusal(file)).to.satisfy((e: unknown) => isRegistoError(e, 'SIMULATOR_STATE_UNREADABLE'));
    await writeFile(file, `${JSON.stringify({ op: 'enrol' })}\n${JSON.stringify({ op: 'teleport' })}\n`);
    const e = await refusal(file, (entry) => {
      if (entry.op !== 'enrol') throw new Error(`unknown ${entry.op}`);
    });
    expect(isRegistoError(e, 'SIMULATOR_STATE_UNREADABLE')).to.equal(true);
    expect((e as { details: unknown }).details).to.deep.equal({ file, line: 2 });
  });

  it('keeps lines whole when many entries are appended while writes are in flight', async () => {
    const file = join(dir, 'busy.jsonl');
    const { journal } = await replayed(file);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      journal.append({ op: 'enrol', n: i, pad: 'x'.repeat(i) });
      if (i % 7 === 0) saves.push(journal.saved());
    }
    await Promise.all(saves);
    await journal.saved();
    await journal.close();
    expect((await entriesOf(file)).map((e) => e.n)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
  });
});
