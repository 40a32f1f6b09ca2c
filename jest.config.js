// One jest run covers every workspace; tests import workspace sources directly (no build needed).
const packages = ['signing', 'registry-tools', 'updater', 'hotspot-agent', 'fleet', 'cli'];
const moduleNameMapper = {};
for (const p of packages) moduleNameMapper[`^@minerhaul/${p}$`] = `<rootDir>/${p}/src/index.ts`;

module.exports = {
  testEnvironment: 'node',
  roots: packages.map((p) => `<rootDir>/${p}`).concat(['<rootDir>/test']),
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  moduleNameMapper,
  testTimeout: 60_000,
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
