import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The SDL of every domain, read from the .graphql files beside this module. */
export function loadTypeDefs(dir: string = __dirname): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8'));
}
