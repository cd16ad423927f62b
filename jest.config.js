// One jest setup for the whole repo: ESM throughout (NestJS 12 and client-node 2 are ESM-only),
// run through `node --experimental-vm-modules` (see package.json "test").
/** @type {import('jest').Config} */
const base = {
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  moduleNameMapper: {
    '^@berth/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  rootDir: '.',
};

export default {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,packages}/*/test/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,packages}/*/test/**/*.integration-spec.ts'],
      globalSetup: '<rootDir>/packages/testenv/jest/global-setup.js',
    },
  ],
  testTimeout: 30_000,
  // Prisma's WASM schema engine and PGlite keep handles alive for seconds after close; the suites
  // close what they open, so do not wait for those.
  forceExit: true,
};
