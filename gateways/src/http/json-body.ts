import { type ValueNode, parse as parseJsonTree } from '@humanwhocodes/momoa';
import { RegistoError } from '@registo/schemas';

/** Deepest nesting a request body may have: no API takes more than a few levels. */
const MAX_DEPTH = 32;

const invalid = (detail: string, reason: string): RegistoError => new RegistoError('REQUEST_INVALID', `the body ${detail}`, { reason });

/**
 * Refuses what JSON.parse lets through: a key twice in one object (JSON.parse keeps the last,
 * so `{"action":"REVOKE",…,"action":"SUSPEND"}` would do what a reviewer did not read), and
 * `__proto__` keys, which become prototypes as soon as the object is merged anywhere.
 */
function checkTree(node: ValueNode, depth: number, at: string): void {
  if (depth > MAX_DEPTH) throw invalid(`nests deeper than ${MAX_DEPTH} levels`, 'TOO_DEEP');
  if (node.type === 'Array') {
    node.elements.forEach((element, i) => checkTree(element.value, depth + 1, `${at}/${i}`));
    return;
  }
  if (node.type !== 'Object') return;
  const seen = new Set<string>();
  for (const member of node.members) {
    const name = member.name.type === 'String' ? member.name.value : member.name.name;
    // Key names are the API's vocabulary, not personal data: naming them helps the caller.
    const shown = name.slice(0, 64);
    if (name === '__proto__') throw invalid(`has a "__proto__" key at ${at || '/'}`, 'PROTO_KEY');
    if (seen.has(name)) throw invalid(`has the key "${shown}" twice at ${at || '/'}`, 'DUPLICATE_KEY');
    seen.add(name);
    checkTree(member.value, depth + 1, `${at}/${shown}`);
  }
}

/** A request body as strict JSON (RFC 8259, unique member names); REQUEST_INVALID otherwise. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw invalid('is empty; send a JSON value', 'EMPTY');
  let tree;
  try {
    tree = parseJsonTree(text, { mode: 'json' });
  } catch {
    // The parser's message quotes the offending text: it stays out of the answer.
    throw invalid('is not JSON', 'NOT_JSON');
  }
  checkTree(tree.body, 0, '');
  return JSON.parse(text);
}
