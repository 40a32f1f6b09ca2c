// Lets `node -r ./bench/ts-register.js bench/<name>.ts` run TypeScript benches without a build: the
// same transpile-only loader the unpack worker uses from sources (updater/ts-worker-register.js:
// @minerhaul/<pkg> mapped to <pkg>/src like jest.config.js, no type check, output cached by content).
require('../updater/ts-worker-register.js');
