/** Input checks shared by the resolvers: each returns the value as stored or throws BAD_USER_INPUT naming the field. */
import { badInput } from '../contract/errors';
import { limits } from '../contract/limits';
import {
  codePointLength,
  foldWhitespace,
  hasControlCharacters,
  hasFormatCharacters,
  hasLoneSurrogates,
  hasVisibleCharacter,
  isSingleEmoji,
} from '../lib/text';

/** A username as stored: lowercase; BAD_USER_INPUT unless 3 to 32 of a-z, 0-9, _. */
export function normalizeUsername(username: string): string {
  const name = username.trim().toLowerCase();
  if (!limits.usernamePattern.test(name)) {
    throw badInput('username', 'must be 3 to 32 characters of a-z, 0-9 and _');
  }
  return name;
}

/** A password of the allowed length. */
export function checkPassword(password: string): void {
  const length = codePointLength(password);
  if (length < limits.passwordMin) throw badInput('password', `must be at least ${limits.passwordMin} characters`);
  if (length > limits.passwordMax) throw badInput('password', `must be at most ${limits.passwordMax} characters`);
}

/**
 * A name shown to others (display name, group title): in Unicode's composed
 * form (NFC), so that the same name typed on any device is stored, compared
 * and counted the same, with whitespace folded, 1 to `max` code points.
 * Control and format characters would let one name forge line breaks, reverse
 * the text around it or hide characters in clients (joiners inside emoji stay
 * allowed); lone surrogates cannot be stored as given; a name of fillers,
 * blanks or marks alone (U+3164, U+2800, ...) would show as nobody at all.
 * Look-alikes from other scripts are kept as given: the username is the identity.
 */
export function printableName(field: string, value: string, max: number): string {
  const name = foldWhitespace(value.normalize('NFC'));
  if (
    name.length === 0 ||
    hasControlCharacters(name) ||
    hasFormatCharacters(name) ||
    hasLoneSurrogates(name) ||
    codePointLength(name) > max
  ) {
    throw badInput(field, `must be 1 to ${max} printable characters`);
  }
  if (!hasVisibleCharacter(name)) {
    throw badInput(field, 'must have a visible character, not only blanks, fillers or combining marks');
  }
  return name;
}

/**
 * Message content: not blank, at most the contract's maximum of code points,
 * and valid Unicode, so that every store holds exactly what was acknowledged.
 */
export function checkContent(content: string, { allowEmpty = false }: { allowEmpty?: boolean } = {}): void {
  if (content.trim().length === 0 && !(allowEmpty && content.length === 0)) {
    throw badInput('content', allowEmpty ? 'must be empty or hold something visible' : 'must not be empty');
  }
  if (hasLoneSurrogates(content)) throw badInput('content', 'must be valid Unicode (it holds an unpaired surrogate)');
  const length = codePointLength(content);
  if (length > limits.contentMax) {
    throw badInput('content', `must be at most ${limits.contentMax} characters (got ${length})`);
  }
}

/** A client's idempotency key for a message, or null when none was given. */
export function checkClientMessageId(id: string | null | undefined): string | null {
  if (id === null || id === undefined) return null;
  if (id.length === 0 || id.length > limits.clientMessageIdMax) {
    throw badInput('clientMessageId', `must be 1 to ${limits.clientMessageIdMax} characters`);
  }
  return id;
}

/** A reaction: exactly one emoji (one grapheme). */
export function checkEmoji(emoji: string): string {
  if (!isSingleEmoji(emoji)) throw badInput('emoji', 'must be exactly one emoji');
  return emoji;
}

/** A device's push token, trimmed: 1 to `limits.pushTokenMax` characters (UTF-16 units; real tokens are ASCII). */
export function checkPushToken(token: string): string {
  const trimmed = token.trim();
  if (trimmed.length === 0 || trimmed.length > limits.pushTokenMax) {
    throw badInput('token', `must be 1 to ${limits.pushTokenMax} characters`);
  }
  return trimmed;
}

/** A first/last argument: null stays null, anything else must be 0 to the page maximum. */
export function pageSize(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value < 0 || value > limits.pageMax) throw badInput(field, `must be from 0 to ${limits.pageMax}`);
  return value;
}

/** Removes repeated ids, keeping the first occurrence. */
export function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/**
 * Free text for operators (a report's note, a suspension's reason): trimmed,
 * at most `limits.reportNoteMax` code points, no lone surrogates; null when empty.
 */
export function moderationText(field: string, value: string | null | undefined): string | null {
  const text = value?.trim() ?? '';
  if (text === '') return null;
  if (codePointLength(text) > limits.reportNoteMax) {
    throw badInput(field, `must be at most ${limits.reportNoteMax} characters`);
  }
  if (hasLoneSurrogates(text)) throw badInput(field, 'must be valid Unicode text');
  return text;
}
