/** Mentions: `@username` in a message's content. */

/** How many distinct usernames one message may mention; later ones are ignored (a group has at most 100 members). */
export const MAX_MENTIONS = 100;

/**
 * The usernames written as `@username` in `content`, lowercase, distinct, in
 * order of first mention. A mention starts where no username character
 * precedes the `@` (so `mail@alice` is not one) and takes the longest run of
 * username characters after it; one outside the username rules (3 to 32 of
 * a-z, 0-9, _) is not a mention.
 */
export function mentionedUsernames(content: string): string[] {
  if (!content.includes('@')) return [];
  const found = new Set<string>();
  for (const match of content.matchAll(/(?<![A-Za-z0-9_])@([A-Za-z0-9_]+)/g)) {
    const name = match[1]!.toLowerCase();
    if (name.length >= 3 && name.length <= 32) found.add(name);
    if (found.size === MAX_MENTIONS) break;
  }
  return [...found];
}
