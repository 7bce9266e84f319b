// Copies the schema's .graphql files next to the compiled schema loader (dist/schema).
const { cpSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const from = join(__dirname, '..', 'src', 'schema');
const to = join(__dirname, '..', 'dist', 'schema');
for (const file of readdirSync(from).filter((f) => f.endsWith('.graphql'))) cpSync(join(from, file), join(to, file));
