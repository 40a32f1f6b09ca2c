// Lets `node -r ./bench/ts-register.js bench/<name>.ts` run TypeScript benches without a build:
// transpiles .ts with the project's own TypeScript (no type check: `npm run typecheck` does that)
// and maps @minerhaul/<pkg> to <pkg>/src like jest.config.js does.
const Module = require('node:module');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@minerhaul\/([a-z-]+)$/.exec(request);
  if (m) request = path.join(root, m[1], 'src', 'index.ts');
  return originalResolve.call(this, request, parent, ...rest);
};
require.extensions['.ts'] = function (module, filename) {
  const source = require('node:fs').readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};
