// Shared Jest settings: ts-jest without type-checking (tsc does that in the typecheck target),
// tsconfig paths resolved by Nx's resolver so specs import libs by their @mitosis/* names.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  resolver: '@nx/jest/plugins/resolver',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { tsconfig: path.join(__dirname, 'tsconfig.spec.json'), diagnostics: false },
    ],
  },
  testMatch: ['**/?(*.)+(spec).ts'],
  testTimeout: 60000,
};
