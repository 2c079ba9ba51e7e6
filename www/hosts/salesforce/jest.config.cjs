// Jest for the Lightning Web Component, with Salesforce's sfdx-lwc-jest preset (installed at the
// repository root). Run from this folder: `npx sfdx-lwc-jest` or `bash scripts/test-hosts.sh`.
const { jestConfig } = require("@salesforce/sfdx-lwc-jest/config");

module.exports = {
  ...jestConfig,
  testMatch: ["**/__tests__/**/*.test.js"],
};
