// One jest run covers every workspace; tests import workspace sources directly (no build needed).
const packages = ['signing', 'registry-tools', 'updater', 'hotspot-agent', 'fleet', 'cli'];
const moduleNameMapper = {};
for (const p of packages) moduleNameMapper[`^@minerhaul/${p}$`] = `<rootDir>/${p}/src/index.ts`;

module.exports = {
  testEnvironment: 'node',
  roots: packages.map((p) => `<rootDir>/${p}`).concat(['<rootDir>/test']),
  testMatch: ['**/test/**/*.test.ts'],
  // Transpile only (no type check per test file): `npm run typecheck` checks types once for the whole tree.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  moduleNameMapper,
  testTimeout: 60_000,
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
