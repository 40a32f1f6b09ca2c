// Loads TypeScript sources without a build: the unpack worker (src/unpack/layer-worker.ts) under
// jest and the benches, the benches themselves and the crash-recovery test's child process (both
// delegate here: bench/ts-register.js, updater/test/engine/crash-child/ts-register.js). Transpile
// only, with the output cached by content so a worker starts in tens of milliseconds instead of
// loading TypeScript (~0.6 s) each time. The build (dist/) never uses this file.
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(os.tmpdir(), `minerhaul-ts-worker-${process.getuid?.() ?? 'user'}`);
let ts;

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@minerhaul\/([a-z-]+)$/.exec(request);
  if (m) request = path.join(root, m[1], 'src', 'index.ts');
  return originalResolve.call(this, request, parent, ...rest);
};

function transpile(source, filename) {
  ts ??= require('typescript');
  return ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}

require.extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    output = transpile(source, filename);
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${cached}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, output);
    fs.renameSync(tmp, cached);
  }
  module._compile(output, filename);
};
