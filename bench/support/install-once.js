// One engine install in a process of its own, from the build (dist/): what a device does, whose
// agent runs each update in a fresh engine child process (docs/decisions/0506). Started by
// bench/fetch-unpack.ts; prints {"seconds", "cpuSeconds"} measured inside, from the first require on.
//   node bench/support/install-once.js REGISTRY_HOST TAG PUBLIC_KEY_LINE WORK_DIR
'use strict';
const started = process.hrtime.bigint();
const { join } = require('node:path');
const root = join(__dirname, '..', '..');
const updater = require(join(root, 'updater', 'dist', 'index.js'));
const { openStore } = require(join(root, 'registry-tools', 'dist', 'index.js'));
const { parsePublicKey } = require(join(root, 'signing', 'dist', 'index.js'));

async function main() {
  const [host, tag, keyLine, work] = process.argv.slice(2);
  if (work === undefined)
    throw new Error('usage: install-once.js REGISTRY_HOST TAG PUBLIC_KEY_LINE WORK_DIR');
  const stateDir = join(work, 'state');
  const engine = new updater.UpdateEngine({
    stateDir,
    store: openStore(`${host}/miner:${tag}`),
    reference: tag,
    channel: tag,
    verifier: updater.statementVerifier({
      trustedKeys: [parsePublicKey(keyLine)],
      threshold: 1,
      channel: tag,
    }),
    selector: updater.platformSelector(),
    stager: updater.blobStoreStager({ stateDir, mode: 'full' }),
    runtime: {
      kind: 'bench',
      prepare: async (release) => release,
      activate: async () => undefined,
      ensureRunning: async () => undefined,
      commit: async () => undefined,
    },
    health: async () => undefined,
  });
  const result = await engine.check();
  if (result.outcome !== 'updated') throw new Error(`engine: ${result.outcome}`);
  const cpu = process.cpuUsage();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
