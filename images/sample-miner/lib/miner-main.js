// @ts-check
'use strict';
// The sample miner: validates blocks (CPU: hashing; disk: append + fsync) into its data directory and
// serves /health, /version and /stats on loopback; `--bench N` validates N blocks and prints the rate.
// Exit status: 0 clean stop, 1 runtime failure (state, disk, port), 2 bad arguments or environment,
// 3 files built for another platform.
const path = require('node:path');
const { setImmediate, setInterval, clearInterval, setTimeout } = require('node:timers');
const { validateNextBlock } = require('./block-validator');
const { ChainStateError, ChainStore } = require('./chain-store');
const { MinerConfigError, hostPlatform, parseMinerConfig } = require('./miner-config');
const { createMinerServer } = require('./miner-server');

const RATE_WINDOW_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** @param {string} message */
function log(message) {
  process.stderr.write(`miner: ${message}\n`);
}

/** @param {string[]} argv @param {NodeJS.ProcessEnv} env @returns {Promise<number>} exit status */
async function main(argv, env) {
  /** @type {import('./miner-config').MinerConfig} */
  let config;
  try {
    config = parseMinerConfig(argv, env, path.resolve(__dirname, '..'));
  } catch (err) {
    if (err instanceof MinerConfigError) {
      log(err.message);
      return 2;
    }
    throw err;
  }
  const platform = hostPlatform();
  // The per-platform layer carries PLATFORM: running another platform's files (a wrong manifest
  // picked, a copied tree) is refused here, as a native library would fail to load.
  if (config.platform !== undefined && config.platform !== platform) {
    log(`these files were built for ${config.platform}, this host is ${platform}`);
    return 3;
  }
  let store;
  try {
    store = ChainStore.open(config.dataDir);
  } catch (err) {
    log(`cannot open the chain in ${config.dataDir}: ${messageOf(err)}`);
    return 1;
  }
  try {
    return config.mode === 'bench' ? await bench(config, store) : await serve(config, store, platform);
  } finally {
    store.close();
  }
}

/** @param {import('./miner-config').MinerConfig} config @param {ChainStore} store */
async function bench(config, store) {
  let stopping = false;
  const onSignal = () => (stopping = true);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const cpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    let blocks = 0;
    while (blocks < config.benchBlocks && !stopping) {
      store.append(validateNextBlock(store.tip, config.txPerBlock));
      blocks += 1;
      // Yield so that SIGTERM is seen between blocks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const result = {
      blocks,
      seconds: round(seconds, 4),
      blocksPerSecond: round(blocks / seconds, 2),
      cpuSeconds: round((cpu.user + cpu.system) / 1e6, 4),
      txPerBlock: config.txPerBlock,
      height: store.tip.height,
      version: config.version,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/**
 * @param {import('./miner-config').MinerConfig} config @param {ChainStore} store @param {string} platform
 * @returns {Promise<number>}
 */
function serve(config, store, platform) {
  const started = Date.now();
  /** @type {number[]} */
  const recent = [];
  let validated = 0;
  let busyMs = 0;
  /** @type {string | undefined} */
  let lastError;

  const tick = () => {
    const t0 = process.hrtime.bigint();
    try {
      store.append(validateNextBlock(store.tip, config.txPerBlock));
      validated += 1;
      lastError = undefined;
    } catch (err) {
      // Disk full or I/O error: health turns 503; the next tick tries again.
      lastError = messageOf(err);
      log(`block ${store.tip.height + 1} not stored: ${lastError}`);
    }
    busyMs += Number(process.hrtime.bigint() - t0) / 1e6;
    const now = Date.now();
    recent.push(now);
    while ((recent[0] ?? now) < now - RATE_WINDOW_MS) recent.shift();
  };

  const server = createMinerServer(() => {
    const windowMs = Math.min(RATE_WINDOW_MS, Date.now() - started);
    return {
      version: config.version,
      platform: config.platform ?? platform,
      height: store.tip.height,
      blocksValidated: validated,
      blocksPerSecond: windowMs > 0 ? round((recent.length * 1000) / windowMs, 2) : 0,
      meanValidationMs: validated > 0 ? round(busyMs / validated, 3) : 0,
      lastError,
      failHealth: config.failHealth,
      uptimeSeconds: Math.floor((Date.now() - started) / 1000),
    };
  });

  return new Promise((resolve) => {
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const stop = (/** @type {number} */ code) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onTerm);
      if (timer !== undefined) clearInterval(timer);
      const force = setTimeout(() => resolve(code), STOP_GRACE_MS);
      force.unref();
      server.close(() => resolve(code));
      server.closeAllConnections();
    };
    const onTerm = (/** @type {NodeJS.Signals} */ signal) => {
      log(`${signal}: stopping at height ${store.tip.height}`);
      stop(0);
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onTerm);
    server.once('error', (err) => {
      log(`cannot listen on ${config.host}:${config.port}: ${err.message}`);
      stop(1);
    });
    server.listen(config.port, config.host, () => {
      log(
        `${config.version} (${config.platform ?? platform}) serving on ${config.host}:${config.port}, ` +
          `height ${store.tip.height}, data ${config.dataDir}`,
      );
      timer = setInterval(tick, config.intervalMs);
    });
  });
}

/** @param {unknown} err */
function messageOf(err) {
  if (err instanceof ChainStateError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** @param {number} n @param {number} digits */
function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

module.exports = { main };
