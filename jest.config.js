/** Jest runs the TypeScript sources directly; `npm test` type-checks them first with tsc. */
const { availableParallelism } = require('node:os');

/** The packages under node_modules that ship only ESM. */
const esmOnlyPackages = '(ts-mls|@noble|@hpke)';

/** @type {import('jest').Config} */
module.exports = {
  // At least two test files at once, also on a 2-core machine (jest's default there is one): most of a
  // test's time is spent waiting on the servers it started, and every file starts its own on free ports.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // ESM-only packages (ts-mls and the @noble / @hpke crypto it loads) are rewritten to CommonJS for jest's
    // module system, which cannot load ESM (plain Node 20.19+ can, with require(esm)).
    [`/node_modules/${esmOnlyPackages}/.+\\.m?js$`]: '<rootDir>/test/helpers/esmTransform.js',
  },
  // node_modules is not transformed (jest's default), except for the ESM-only packages above.
  transformIgnorePatterns: [`/node_modules/(?!${esmOnlyPackages}/)`],
  testTimeout: 30000,
  // Servers started by a test are disposed by its own afterAll; a worker that lingers is a leak.
  forceExit: false,
};
