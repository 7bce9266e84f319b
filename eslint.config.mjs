// ESLint (flat config) with typescript-eslint's recommended rules; `npm run lint` runs it with Prettier and tsc.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  fetch: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  performance: 'readonly',
  __dirname: 'readonly',
  require: 'readonly',
  module: 'writable',
};

/**
 * ARCHITECTURE.md's import order as a lint rule: the folders of src/ from the top (the composition root) to
 * the leaves, each importing only folders on its own level or below, never one above.
 */
const layers = [
  ['main'],
  ['server'],
  ['execution'],
  ['resolvers', 'schema', 'generated'],
  ['app'],
  [
    'auth',
    'messaging',
    'conversationEvents',
    'presence',
    'push',
    'cluster',
    'config',
    'attachments',
    'dataExport',
    'mls',
  ],
  ['pubsub', 'store', 'media'],
  ['contract', 'lib'],
];
const importOrder = layers.slice(1).map((level, i) => {
  const above = layers.slice(0, i + 1).flat();
  return {
    files: level.map((folder) => `src/${folder}/**`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\./|(\\.\\./)+)(${above.join('|')})(/|$)`,
              message: `src/${level.join(', src/')} may not import from src/${above.join(', src/')} (ARCHITECTURE.md: imports point downwards only).`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.tools/',
      '.tmp/',
      'coverage/',
      'src/generated/',
      'examples/client/src/gql/',
      'examples/client/dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    rules: {
      // Unused arguments and destructured fields named with a leading underscore are deliberate.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  ...importOrder,
  {
    // A backend's factory names the interface it implements as its return type, so that the compiler checks the
    // implementation against the interface in the implementation's own file (not only where it is used).
    files: [
      'src/store/**',
      'src/pubsub/**',
      'src/media/**',
      'src/presence/**',
      'src/cluster/**',
      'src/auth/revocations/**',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'ExportNamedDeclaration > FunctionDeclaration[id.name=/^(create(Memory|Redis|Mongo)\\w*|create\\w+Store|connect\\w+|lease\\w+)$/]:not([returnType])',
          message: "A backend's factory declares the interface it implements as its return type.",
        },
      ],
    },
  },
  {
    // Tests read loosely typed GraphQL answers (and say why wherever they print).
    files: ['test/**', 'bench/**', 'examples/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Command-line tools: printing is their output.
    files: ['bench/**', 'examples/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
