// @ts-check
'use strict';
// Command line and environment of the sample miner. The image config carries no environment of its
// own (minerhaul build sets PATH only), so every setting has a default that fits a hotspot.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

/** Bad arguments or environment: exit status 2. */
class MinerConfigError extends Error {}

/**
 * @typedef {object} MinerConfig
 * @property {'serve' | 'bench'} mode
 * @property {number} benchBlocks
 * @property {string} host
 * @property {number} port
 * @property {string} dataDir
 * @property {number} txPerBlock
 * @property {number} intervalMs
 * @property {boolean} failHealth
 * @property {string} version
 * @property {string | undefined} platform  the platform the installed files were built for
 */

const USAGE = 'usage: miner [--bench N]';

/**
 * @param {string[]} argv arguments after the program name
 * @param {NodeJS.ProcessEnv} env
 * @param {string} installDir the miner's own directory (/opt/miner in the image)
 * @returns {MinerConfig}
 */
function parseMinerConfig(argv, env, installDir) {
  let mode = /** @type {'serve' | 'bench'} */ ('serve');
  let benchBlocks = 0;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--bench') {
      mode = 'bench';
      benchBlocks = integer('--bench', argv[i + 1], 1, 1_000_000);
      i += 1;
    } else {
      throw new MinerConfigError(`unknown argument '${arg}' (${USAGE})`);
    }
  }
  const host = env.MINER_HOST || '127.0.0.1';
  if (net.isIP(host) === 0) throw new MinerConfigError(`MINER_HOST must be an IP address, got '${host}'`);
  const dataDir = env.MINER_DATA || '/var/lib/miner';
  if (!path.isAbsolute(dataDir)) throw new MinerConfigError(`MINER_DATA must be absolute, got '${dataDir}'`);
  const failSwitch = env.MINER_FAIL_HEALTH ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(failSwitch)) {
    throw new MinerConfigError(`MINER_FAIL_HEALTH must be 1, 0, true or false, got '${failSwitch}'`);
  }
  return {
    mode,
    benchBlocks,
    host,
    port: integer('MINER_PORT', env.MINER_PORT ?? '8080', 1, 65535),
    dataDir,
    txPerBlock: integer('MINER_TX_PER_BLOCK', env.MINER_TX_PER_BLOCK ?? '256', 1, 65536),
    intervalMs: integer('MINER_BLOCK_INTERVAL_MS', env.MINER_BLOCK_INTERVAL_MS ?? '1000', 10, 3_600_000),
    // The demo's broken release bakes the FAIL_HEALTH file into the image; the variable serves tests.
    failHealth:
      failSwitch === '1' || failSwitch === 'true' || fs.existsSync(path.join(installDir, 'FAIL_HEALTH')),
    version: readMarker(installDir, 'VERSION') ?? 'dev',
    platform: readMarker(installDir, 'PLATFORM'),
  };
}

/** @param {string} name @param {string | undefined} text @param {number} min @param {number} max */
function integer(name, text, min, max) {
  if (text === undefined || !/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new MinerConfigError(`${name} must be a whole number from ${min} to ${max}, got '${text ?? ''}'`);
  }
  return Number(text);
}

/** @param {string} dir @param {string} name */
function readMarker(dir, name) {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** This process's platform in OCI terms (image-spec config.md `architecture`: Go's GOARCH names). */
function hostPlatform() {
  /** @type {Record<string, string>} */
  const names = { x64: 'amd64', arm64: 'arm64', arm: 'arm/v7', ia32: '386' };
  const arch = names[process.arch] ?? process.arch;
  return `${process.platform}/${arch}`;
}

module.exports = { MinerConfigError, hostPlatform, parseMinerConfig };
