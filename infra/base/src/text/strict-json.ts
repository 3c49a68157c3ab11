import { type ValueNode, parse as parseJsonTree } from '@humanwhocodes/momoa';

/** Deepest nesting accepted: no API body or packet needs more than a few levels. */
export const MAX_JSON_DEPTH = 32;

export type JsonProblem = 'EMPTY' | 'NOT_JSON' | 'DUPLICATE_KEY' | 'PROTO_KEY' | 'TOO_DEEP';

/** Why a text is not strict JSON; the message names keys and paths (the vocabulary of the format), never values. */
export class StrictJsonError extends Error {
  constructor(
    readonly reason: JsonProblem,
    message: string,
  ) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

/**
 * Refuses what JSON.parse lets through: a key twice in one object (JSON.parse keeps the last,
 * so `{"action":"REVOKE",…,"action":"SUSPEND"}` does what a reader of the first did not expect),
 * and `__proto__` keys, which become prototypes as soon as the object is merged anywhere.
 */
function checkTree(node: ValueNode, depth: number, at: string): void {
  if (depth > MAX_JSON_DEPTH) throw new StrictJsonError('TOO_DEEP', `nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (node.type === 'Array') {
    node.elements.forEach((element, i) => checkTree(element.value, depth + 1, `${at}/${i}`));
    return;
  }
  if (node.type !== 'Object') return;
  const seen = new Set<string>();
  for (const member of node.members) {
    const name = member.name.type === 'String' ? member.name.value : member.name.name;
    const shown = name.slice(0, 64);
    if (name === '__proto__') throw new StrictJsonError('PROTO_KEY', `has a "__proto__" key at ${at || '/'}`);
    if (seen.has(name)) throw new StrictJsonError('DUPLICATE_KEY', `has the key "${shown}" twice at ${at || '/'}`);
    seen.add(name);
    checkTree(member.value, depth + 1, `${at}/${shown}`);
  }
}

/** `text` as strict JSON (RFC 8259 with unique member names, no `__proto__`), or a StrictJsonError. */
export function parseStrictJson(text: string): unknown {
  if (text.trim() === '') throw new StrictJsonError('EMPTY', 'is empty');
  let tree;
  try {
    tree = parseJsonTree(text, { mode: 'json' });
  } catch {
    // The parser's message quotes the offending text: it stays out of ours.
    throw new StrictJsonError('NOT_JSON', 'is not JSON');
  }
  checkTree(tree.body, 0, '');
  return JSON.parse(text);
}
