// Lets a plain `node` child process run the TypeScript sources (jest transpiles them for tests, but the
// crash-recovery tests need a separate process they can SIGKILL): transpile-only through the
// TypeScript compiler, and @minerhaul/* mapped to each workspace's src/index.ts as jest.config.js does.
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const os = require('node:os');

// Transpiling every module through the compiler costs seconds per process; cache by content hash.
const cacheDir = path.join(os.tmpdir(), 'minerhaul-ts-register-cache');
fs.mkdirSync(cacheDir, { recursive: true });
let ts;

const root = path.resolve(__dirname, '../../../..');
const packages = ['signing', 'registry-tools', 'updater', 'hotspot-agent', 'fleet', 'cli'];
const mapped = new Map(packages.map((p) => [`@minerhaul/${p}`, path.join(root, p, 'src', 'index.ts')]));

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, mapped.get(request) ?? request, ...rest);
};

Module._extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  if (fs.existsSync(cached)) {
    module._compile(fs.readFileSync(cached, 'utf8'), filename);
    return;
  }
  ts ??= require('typescript');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      resolveJsonModule: true,
    },
  });
  const temp = `${cached}.${process.pid}.tmp`;
  fs.writeFileSync(temp, outputText);
  fs.renameSync(temp, cached);
  module._compile(outputText, filename);
};
