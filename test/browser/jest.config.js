/** The browser suite: headless Debian Chromium against the app listening on a real port (`npx jest --config test/browser/jest.config.js`). */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  testRegex: 'test/browser/.*\\.browser-spec\\.ts$',
  testTimeout: 400000,
  maxWorkers: 1,
};
