// @ts-check
'use strict';
// The miner's disk work and its state: an append-only chain file in the data directory, one JSON
// line per validated block, each append fsynced (a validated block must survive a power cut, as a
// real node's block store must). The tip is read back at start, so the height survives restarts,
// updates and rollbacks (every release shares the data directory).
const fs = require('node:fs');
const path = require('node:path');
const { GENESIS_HASH, validateNextBlock } = require('./block-validator');

const CHAIN_FILE = 'chain.jsonl';
/** A record is ~300 bytes; the tail read at start only needs the last complete line. */
const TAIL_BYTES = 64 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

/** The data directory holds something this miner cannot continue from. */
class ChainStateError extends Error {}

class ChainStore {
  /**
   * Opens (or creates) the chain in `dataDir`. A torn last line (power cut during an append) is cut
   * off; a last complete record that does not validate again is refused (ChainStateError).
   * @param {string} dataDir
   */
  static open(dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, CHAIN_FILE);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o644);
    try {
      const tip = recoverTip(file, fd);
      return new ChainStore(file, fd, tip, fs.fstatSync(fd).size);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * @param {string} file @param {number} fd @param {import('./block-validator').ChainTip} tip
   * @param {number} size bytes of complete records
   */
  constructor(file, fd, tip, size) {
    this.file = file;
    /** @type {number | undefined} */
    this.fd = fd;
    this.tip = tip;
    this.size = size;
  }

  /** Appends a validated block and fsyncs before the tip moves. @param {import('./block-validator').Block} block */
  append(block) {
    if (this.fd === undefined) throw new Error('chain store is closed');
    if (block.prev !== this.tip.hash || block.height !== this.tip.height + 1) {
      throw new Error(`block ${block.height} does not follow the tip ${this.tip.height}`);
    }
    const line = Buffer.from(JSON.stringify({ ...block, time: new Date().toISOString() }) + '\n', 'utf8');
    try {
      fs.writeSync(this.fd, line);
      fs.fsyncSync(this.fd);
    } catch (err) {
      // A short write (disk full) would leave half a record for the next append to follow: cut it.
      try {
        fs.ftruncateSync(this.fd, this.size);
      } catch {
        // Not a regular file, or the disk is gone: the start-up recovery handles a torn tail.
      }
      throw err;
    }
    this.size += line.length;
    this.tip = { height: block.height, hash: block.hash };
  }

  close() {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** @param {string} file @param {number} fd @returns {import('./block-validator').ChainTip} */
function recoverTip(file, fd) {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return { height: 0, hash: GENESIS_HASH };
  const start = Math.max(0, size - TAIL_BYTES);
  const tail = Buffer.alloc(size - start);
  fs.readSync(fd, tail, 0, tail.length, start);
  const lastNewline = tail.lastIndexOf(0x0a);
  if (lastNewline < 0) {
    if (start === 0) {
      // Only a torn first record: nothing was ever committed.
      fs.ftruncateSync(fd, 0);
      fs.fsyncSync(fd);
      return { height: 0, hash: GENESIS_HASH };
    }
    throw new ChainStateError(`${file}: no complete record in its last ${TAIL_BYTES} bytes`);
  }
  if (lastNewline !== tail.length - 1) {
    fs.ftruncateSync(fd, start + lastNewline + 1);
    fs.fsyncSync(fd);
  }
  // (A negative offset would make lastIndexOf search from the end again.)
  const lineStart = lastNewline > 0 ? tail.lastIndexOf(0x0a, lastNewline - 1) + 1 : 0;
  if (lineStart === 0 && start > 0) {
    throw new ChainStateError(`${file}: last record longer than ${TAIL_BYTES} bytes`);
  }
  const line = tail.subarray(lineStart, lastNewline).toString('utf8');
  /** @type {unknown} */
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    throw new ChainStateError(`${file}: last record is not JSON`);
  }
  const r = /** @type {Record<string, unknown>} */ (record);
  if (
    typeof record !== 'object' ||
    record === null ||
    !Number.isSafeInteger(r.height) ||
    /** @type {number} */ (r.height) < 1 ||
    typeof r.hash !== 'string' ||
    typeof r.prev !== 'string' ||
    !HEX64.test(r.hash) ||
    !HEX64.test(r.prev) ||
    !Number.isSafeInteger(r.txs) ||
    /** @type {number} */ (r.txs) < 1
  ) {
    throw new ChainStateError(`${file}: last record is malformed`);
  }
  const height = /** @type {number} */ (r.height);
  const again = validateNextBlock({ height: height - 1, hash: r.prev }, /** @type {number} */ (r.txs));
  if (again.hash !== r.hash) throw new ChainStateError(`${file}: block ${height} does not validate`);
  return { height, hash: r.hash };
}

module.exports = { CHAIN_FILE, ChainStateError, ChainStore };
