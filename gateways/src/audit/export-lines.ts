import type { EventStore, SqlDriver } from '@registo/event-store';
import { EXPORT_KIND, EXPORT_VERSION, SqlTreeStore, eventLeafHash, exportEventLine } from '@registo/audit';

const tree = new SqlTreeStore();
const EXPORT_PAGE = 2000;

/**
 * The audit export of positions from…to (docs/audit.md, export format), as chunks of whole
 * lines: the header, one line per event with the leaf hash the tree recorded, and the checkpoints
 * over the range whose events come after it. The auditor API serves it; the health view feeds it
 * to the same verifier `audit verify` runs, so both judge the same data the same way.
 *
 * `pastTree: 'recomputed'` lets the range run past the tree (events not yet leaves): their leaf
 * hash is recomputed from the event, so only their own hash and sequence are checked.
 * `pageSize`: rows read at a time (tests use small pages to cross page ends).
 */
export async function* exportLines(args: { db: SqlDriver; store: EventStore; origin: string; from: number; to: number; pastTree?: 'recomputed'; pageSize?: number }): AsyncGenerator<string> {
  const { db, store, origin, from, to } = args;
  const pageSize = args.pageSize ?? EXPORT_PAGE;
  const prefix = await tree.loadRange(db, from - 1);
  const header = {
    kind: EXPORT_KIND,
    version: EXPORT_VERSION,
    origin,
    from,
    to,
    prefix: { size: from - 1, edge: prefix.edgeHashes().map((h) => h.toString('hex')) },
    exportedAt: new Date().toISOString(),
  };
  yield `${JSON.stringify(header)}\n`;
  let next = from;
  while (next <= to) {
    // Every row is exported, two at one position included (the verifier counts them as
    // `position-duplicated`): a full page may end part-way through one position's rows, so its
    // last position goes out with the next page, unless the page holds nothing else.
    const events = await store.readAll({ fromPosition: next, maxCount: pageSize, verify: false });
    const full = events.length === pageSize;
    let inRange = events.filter((e) => e.position <= to);
    if (inRange.length === 0) break;
    const last = inRange[inRange.length - 1]!.position;
    const before = full ? inRange.filter((e) => e.position < last) : [];
    if (before.length > 0) inRange = before;
    const leaves = await tree.leafHashes(db, inRange[0]!.position - 1, inRange[inRange.length - 1]!.position);
    let chunk = '';
    for (const e of inRange) {
      const recorded = leaves.get(e.position - 1) ?? (args.pastTree === 'recomputed' ? eventLeafHash(e) : Buffer.alloc(32));
      chunk += `${exportEventLine(e, recorded)}\n`;
    }
    yield chunk;
    next = before.length > 0 ? last : last + 1;
  }
  // Checkpoints over leaves of this export whose own events come after it.
  for (const c of await tree.checkpoints(db, { fromSize: from - 1, toSize: to, afterPosition: to, limit: 1000 })) {
    yield `${JSON.stringify({ kind: 'checkpoint', treeSize: c.treeSize, position: c.position, note: c.note, timestampToken: c.timestampToken?.toString('base64') ?? null })}\n`;
  }
}
