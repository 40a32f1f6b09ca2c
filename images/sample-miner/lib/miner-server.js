// @ts-check
'use strict';
// The miner's HTTP face on loopback: what the agent's http health check and the demo poll.
const http = require('node:http');

/**
 * @typedef {object} MinerStatus
 * @property {string} version
 * @property {string} platform
 * @property {number} height
 * @property {number} blocksValidated  since this process started
 * @property {number} blocksPerSecond  over the last window
 * @property {number} meanValidationMs CPU + fsync time per block
 * @property {string | undefined} lastError
 * @property {boolean} failHealth
 * @property {number} uptimeSeconds
 */

/**
 * GET /health: 200 while blocks are validated and stored, 503 when the last one failed or the
 * failing-health switch is on. GET /version: the version as text. GET /stats: MinerStatus as JSON.
 * @param {() => MinerStatus} status
 */
function createMinerServer(status) {
  return http.createServer((req, res) => {
    const send = (/** @type {number} */ code, /** @type {string} */ type, /** @type {string} */ body) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (/** @type {number} */ code, /** @type {unknown} */ value) =>
      send(code, 'application/json', JSON.stringify(value) + '\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(405, { error: 'method not allowed' });
    }
    const s = status();
    switch (new URL(req.url ?? '/', 'http://miner').pathname) {
      case '/health':
        if (s.failHealth) return json(503, { status: 'failing', reason: 'failing-health switch is on' });
        if (s.lastError !== undefined) return json(503, { status: 'error', reason: s.lastError });
        return json(200, { status: 'ok', height: s.height });
      case '/version':
        return send(200, 'text/plain; charset=utf-8', `${s.version}\n`);
      case '/stats':
        return json(200, s);
      default:
        return json(404, { error: 'not found' });
    }
  });
}

module.exports = { createMinerServer };
