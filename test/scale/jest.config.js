/** `npm run test:scale`: the whole topology (Redis Cluster, a PostgreSQL replica, HAProxy, several API and worker processes) under load and failure. */
const root = require('../../jest.config.js');

module.exports = {
  ...root,
  rootDir: '../..',
  testRegex: 'test/scale/.*\\.scale-spec\\.ts$',
  // The spec brings up its own PostgreSQL pair and Redis Cluster: no template database on the shared server.
  globalSetup: undefined,
  globalTeardown: undefined,
  setupFiles: ['<rootDir>/test/faults/support/quiet.ts'],
  testTimeout: 600_000,
  maxWorkers: 1,
  // Everything the spec started is stopped in its afterAll; a client socket left half-closed must not hold the run.
  forceExit: true,
};
