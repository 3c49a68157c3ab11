import { type EventEnvelope, hashInput } from '@registo/schemas';
import { hashLeaf } from './merkle.js';

/*
 * The leaf of an event (docs/audit.md): its leaf data are exactly the bytes its envelope hash is
 * over — the UTF-8 RFC 8785 canonical JSON of the envelope without `hash` and `position`. So
 *   event hash = SHA-256(leaf data)          (hex in the envelope)
 *   leaf hash  = SHA-256(0x00 ‖ leaf data)   (RFC 6962)
 * and the leaf's index in the tree is position − 1 (positions are 1-based and gap-free).
 */

export function leafData(event: Omit<EventEnvelope, 'hash' | 'position'> | EventEnvelope): Buffer {
  return Buffer.from(hashInput(event), 'utf8');
}

export function eventLeafHash(event: Omit<EventEnvelope, 'hash' | 'position'> | EventEnvelope): Buffer {
  return hashLeaf(leafData(event));
}
