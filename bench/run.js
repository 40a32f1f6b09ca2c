#!/usr/bin/env node
// `npm run bench [-- NAME …]`: runs the named benchmarks (all when none is named), one after another,
// each in its own node process so one bench's memory and handles never skew the next.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

// Benchmarks are bench/NAME.ts or bench/GROUP/NAME.ts (named GROUP/NAME).
const all = readdirSync(__dirname, { withFileTypes: true })
  .flatMap((e) =>
    e.isDirectory() && e.name !== 'results' && e.name !== 'support'
      ? readdirSync(join(__dirname, e.name))
          .filter((f) => f.endsWith('.ts'))
          .map((f) => `${e.name}/${f}`)
      : e.name.endsWith('.ts')
        ? [e.name]
        : [],
  )
  .map((f) => f.slice(0, -3))
  // Not benchmarks: processes that a benchmark starts.
  .filter((name) => !['fleet/server-process'].includes(name))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== bench/${name}`);
  const r = spawnSync(
    process.execPath,
    ['-r', join(__dirname, 'ts-register.js'), join(__dirname, `${name}.ts`)],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
