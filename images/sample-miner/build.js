#!/usr/bin/env node
// Builds the sample miner's slim image with `minerhaul build`: the JavaScript (bin/, lib/) and the
// VERSION marker form the --common layer, identical for every platform and stored once; each
// platform layer holds only its PLATFORM marker (where a real miner keeps its native libraries).
// The runtime (node) is the host's. See README.md.
//
//   node images/sample-miner/build.js --version 1.0.0 --output oci-layout:DIR:TAG \
//     [--platform linux/arm64 …] [--fail-health] [--compression gzip|zstd]
//
// The CLI is the repository's cli/bin/minerhaul.js (needs `npm run build`), or MINERHAUL_BIN.
// Set SOURCE_DATE_EPOCH for a reproducible digest.
// @ts-check
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const MINER_DIR = __dirname;
const DEFAULT_PLATFORMS = ['linux/arm64', 'linux/amd64'];
const DEFAULT_CLI = path.join(MINER_DIR, '..', '..', 'cli', 'bin', 'minerhaul.js');
const USAGE =
  'usage: build.js --version V --output oci-layout:DIR[:TAG] [--platform OS/ARCH …] [--fail-health] ' +
  '[--compression gzip|zstd] [--json]';

/**
 * @typedef {{ version: string, output: string, platforms: string[], failHealth: boolean,
 *   compression: string, json: boolean }} BuildArgs
 */

/** @param {string[]} argv @returns {BuildArgs} */
function parseArgs(argv) {
  /** @type {Partial<BuildArgs> & { platforms: string[] }} */
  const args = { platforms: [], failHealth: false, compression: 'gzip', json: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value (${USAGE})`);
      i += 1;
      return v;
    };
    if (arg === '--version') args.version = value();
    else if (arg === '--output') args.output = value();
    else if (arg === '--platform') args.platforms.push(value());
    else if (arg === '--compression') args.compression = value();
    else if (arg === '--fail-health') args.failHealth = true;
    else if (arg === '--json') args.json = true;
    else throw new Error(`unknown argument '${arg}' (${USAGE})`);
  }
  if (args.version === undefined || !/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(args.version)) {
    throw new Error(`--version must be a version like 1.2.0 (${USAGE})`);
  }
  if (args.output === undefined || !args.output.startsWith('oci-layout:')) {
    throw new Error(`--output must be oci-layout:DIR[:TAG] (${USAGE})`);
  }
  const platforms = args.platforms.length > 0 ? args.platforms : DEFAULT_PLATFORMS;
  for (const p of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(p)) throw new Error(`invalid platform '${p}'`);
  }
  if (new Set(platforms).size !== platforms.length) throw new Error('a platform is given twice');
  return {
    version: args.version,
    output: args.output,
    platforms,
    failHealth: args.failHealth === true,
    compression: args.compression ?? 'gzip',
    json: args.json === true,
  };
}

/**
 * Lays out the build inputs under `stageDir`: `common/` and one directory per platform, with the
 * paths they get below /opt/miner. Returns the `minerhaul build` arguments for them.
 * @param {BuildArgs} args @param {string} stageDir @returns {string[]}
 */
function stageInputs(args, stageDir) {
  const common = path.join(stageDir, 'common');
  for (const dir of ['bin', 'lib']) {
    fs.cpSync(path.join(MINER_DIR, dir), path.join(common, dir), { recursive: true });
  }
  fs.writeFileSync(path.join(common, 'VERSION'), `${args.version}\n`);
  // The demo's broken release: health answers 503 whatever the environment says.
  if (args.failHealth)
    fs.writeFileSync(path.join(common, 'FAIL_HEALTH'), 'this release fails its health check\n');
  const cliArgs = ['build', '--common', common];
  for (const platform of args.platforms) {
    const dir = path.join(stageDir, 'platforms', platform.replace(/\//g, '-'));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'PLATFORM'), `${platform}\n`);
    cliArgs.push('--platform', `${platform}=${dir}`);
  }
  cliArgs.push('--version', args.version, '--compression', args.compression, '--output', args.output);
  return cliArgs;
}

/** @param {string[]} argv @returns {number} */
function main(argv) {
  /** @type {BuildArgs} */
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`build.js: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const stageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-miner-build-'));
  try {
    const cli = process.env.MINERHAUL_BIN ?? DEFAULT_CLI;
    if (!fs.existsSync(cli)) {
      process.stderr.write(`build.js: ${cli} not found (run \`npm run build\`, or set MINERHAUL_BIN)\n`);
      return 2;
    }
    const cliArgs = [cli, ...(args.json ? ['--json'] : []), ...stageInputs(args, stageDir)];
    const run = spawnSync(process.execPath, cliArgs, { stdio: 'inherit', timeout: 300_000 });
    return run.status ?? 1;
  } finally {
    fs.rmSync(stageDir, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
