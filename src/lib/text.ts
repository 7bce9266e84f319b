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

/** The first `max` code points of `text`, with an ellipsis in place of the last when it was longer. */
export function truncateCodePoints(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${[...text].slice(0, max - 1).join('')}…`;
}
