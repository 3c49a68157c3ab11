/**
 * The one check every piece of human text passes, wherever it comes from (packet demographics,
 * HTTP bodies): normalised to Unicode NFC, then held to the character set of its kind of field.
 *
 * Refused everywhere: control characters (C0, DEL, C1), format characters (bidi overrides and
 * isolates, zero-width space/joiners, U+FEFF, soft hyphen…), lone surrogates, private-use and
 * unassigned code points, line/paragraph separators. They let one name look like another, hide
 * text from an officer, or break the stores and the exports further on.
 */
export type TextKind =
  /** A person's name: letters, combining marks, space, apostrophes, hyphen, full stop. */
  | 'name'
  /** A place or address part: a name's characters plus digits and common punctuation. */
  | 'place'
  /** Free text (a reason, a comment, a note): any visible character or space. */
  | 'free';

export type TextProblem = 'NOT_WELL_FORMED' | 'CONTROL_CHARACTER' | 'INVISIBLE_CHARACTER' | 'CHARACTER_NOT_ALLOWED' | 'EMPTY';

export type TextCheck = { ok: true; value: string } | { ok: false; problem: TextProblem; message: string };

const CONTROL = /\p{Cc}/u;
// Cf: format (bidi controls, ZWSP/ZWJ/ZWNJ, BOM, soft hyphen); Co: private use; Cn: unassigned; Zl/Zp: separators.
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const ALLOWED: Record<TextKind, RegExp> = {
  name: /^[\p{L}\p{M}' ’.-]+$/u,
  place: /^[\p{L}\p{M}\p{Nd}' ’.,/()º°ª#-]+$/u,
  free: /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]+$/u,
};

const PROBLEM_MESSAGES: Record<TextProblem, string> = {
  NOT_WELL_FORMED: 'holds a lone surrogate (not well-formed Unicode)',
  CONTROL_CHARACTER: 'holds a control character',
  INVISIBLE_CHARACTER: 'holds an invisible or formatting character (bidi control, zero-width, byte-order mark, private use)',
  CHARACTER_NOT_ALLOWED: 'holds a character this field does not allow',
  EMPTY: 'is empty or only spaces',
};

const refuse = (problem: TextProblem): TextCheck => ({ ok: false, problem, message: PROBLEM_MESSAGES[problem] });

/** The NFC form of `raw` if it is acceptable text of `kind`; otherwise which rule it breaks (never the text itself). */
export function checkText(raw: string, kind: TextKind): TextCheck {
  if (!raw.isWellFormed()) return refuse('NOT_WELL_FORMED');
  const value = raw.normalize('NFC');
  if (CONTROL.test(value)) return refuse('CONTROL_CHARACTER');
  if (INVISIBLE.test(value)) return refuse('INVISIBLE_CHARACTER');
  if (value.trim() === '') return refuse('EMPTY');
  if (!ALLOWED[kind].test(value)) return refuse('CHARACTER_NOT_ALLOWED');
  return { ok: true, value };
}
