/** Text helpers with no knowledge of what the text is for. */

/** The number of Unicode code points in `text` (an emoji counts once). */
export function codePointLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/** `text` with every run of whitespace folded to one space and the ends trimmed. */
export function foldWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Whether `text` holds a control character (line breaks and tabs included). */
export function hasControlCharacters(text: string): boolean {
  return /\p{Cc}/u.test(text);
}

/**
 * Joiners and tags that belong to an emoji sequence: a zero-width joiner
 * between two pictographs (👩‍💻, 🏳️‍🌈, 👩🏽‍🚀), and the tag characters of a
 * subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿). They are format characters too, but harmless there.
 */
const EMOJI_FORMAT_SEQUENCES =
  /(?<=[\p{Extended_Pictographic}\p{Emoji_Modifier}]\uFE0F?)\u200D(?=\p{Extended_Pictographic})|(?<=\u{1F3F4})[\u{E0020}-\u{E007E}]+\u{E007F}/gu;

/**
 * Whether `text` holds an invisible format character (`\p{Cf}`: bidi
 * overrides and isolates, zero-width spaces and joiners, …) outside an emoji
 * sequence. Such characters let a name reorder or hide what is shown around it.
 */
export function hasFormatCharacters(text: string): boolean {
  return /\p{Cf}/u.test(text.replace(EMOJI_FORMAT_SEQUENCES, ''));
}

/**
 * What a screen shows as nothing, or as blank space: whitespace; default-ignorable
 * code points, which include the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0,
 * joiners and variation selectors; marks, which only change the character before
 * them; control and format characters; and U+2800 BRAILLE PATTERN BLANK, a symbol
 * drawn as an empty cell.
 */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{M}\p{Cc}\p{Cf}\u2800]/u;

/** Whether `text` has at least one character that shows: not only blanks, fillers, marks and the invisible. */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE.test(text);
}

/**
 * Whether `text` holds a lone surrogate: a string no UTF-8 store can hold as
 * it is (MongoDB would keep U+FFFD instead).
 */
export function hasLoneSurrogates(text: string): boolean {
  // With the u flag a surrogate pair is one code point, so only unpaired halves match.
  return /[\uD800-\uDFFF]/u.test(text);
}

/** The first `max` code points of `text`, with an ellipsis in place of the last when it was longer. */
export function truncateCodePoints(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${[...text].slice(0, max - 1).join('')}…`;
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Code points that may make up an emoji: emoji, modifiers, joiners, variation selectors, keycaps, tags. */
const emojiParts = /^(?:\p{Emoji}|\p{Emoji_Component}|\u200D|\uFE0F|[\u{E0020}-\u{E007F}])+$/u;
/** What makes one of those an emoji rather than a digit or `#` alone. */
const emojiCore = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;
/** Longer than any emoji sequence Unicode defines (family and flag-tag sequences are under 30 UTF-16 units). */
const EMOJI_MAX_UNITS = 32;

/** Whether `text` is exactly one emoji: one grapheme, made of emoji code points only. */
export function isSingleEmoji(text: string): boolean {
  if (text.length === 0 || text.length > EMOJI_MAX_UNITS) return false;
  if (!emojiParts.test(text) || !emojiCore.test(text)) return false;
  let count = 0;
  for (const _ of graphemes.segment(text)) if (++count > 1) return false;
  return count === 1;
}
