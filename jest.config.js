/** Jest runs the TypeScript sources directly; `npm test` type-checks them first with tsc. */
const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // At least two test files at once, also on a 2-core machine (jest's default there is one): most of a
  // test's time is spent waiting on the servers it started, and every file starts its own on free ports.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
  // Servers started by a test are disposed by its own afterAll; a worker that lingers is a leak.
  forceExit: false,
};
