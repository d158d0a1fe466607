/** `npm run test:faults`: the reliability and security suite, real processes against real services. */
const root = require('../../jest.config.js');

module.exports = {
  ...root,
  rootDir: '../..',
  testRegex: 'test/faults/.*\\.fault-spec\\.ts$',
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/faults/support/quiet.ts'],
  testTimeout: 300_000,
  // The files start processes, restart servers and measure loads: one at a time keeps them honest on 2 cores.
  maxWorkers: 1,
};
