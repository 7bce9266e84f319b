/** Jest runs the TypeScript sources directly; `npm test` type-checks them first with tsc. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
  // Servers started by a test are disposed by its own afterAll; a worker that lingers is a leak.
  forceExit: false,
};
