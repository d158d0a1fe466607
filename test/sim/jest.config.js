/** `npm run test:sim`: the seeded simulation of the whole money flow (see test/sim/README.md); run it through test/sim/run.js. */
const root = require('../../jest.config.js');

module.exports = {
  ...root,
  rootDir: '../..',
  testRegex: 'test/sim/.*\\.sim-spec\\.ts$',
  setupFiles: ['<rootDir>/test/faults/support/quiet.ts'],
  testTimeout: 900_000,
  // One history at a time: a seed's timing should not depend on another file's load.
  maxWorkers: 1,
  // A history that breaks mid-step may leave a request or a Stripe call of the app in flight
  // when its world closes; the summary must still come out.
  forceExit: true,
};
