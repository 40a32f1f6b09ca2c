// @ts-check
'use strict';
// The miner's CPU work: a stand-in for block validation. Every block is derived from its parent, so
// a chain tip read back from disk can be validated again (see chain-store.js) and the amount of work
// per block is fixed, which makes blocks/s a stable measure across runs and sandboxes.
const { createHash } = require('node:crypto');

/** The parent of block 1. */
const GENESIS_HASH = '0'.repeat(64);
const TX_BYTES = 256;

/**
 * @typedef {{ height: number, hash: string }} ChainTip
 * @typedef {{ height: number, hash: string, prev: string, merkle: string, txs: number }} Block
 */

/** @param {Buffer[]} parts */
function sha256d(...parts) {
  const first = createHash('sha256');
  for (const p of parts) first.update(p);
  return createHash('sha256').update(first.digest()).digest();
}

/**
 * The block's transactions, generated from its parent (sha256 in counter mode): what a real miner
 * would receive from peers. Each transaction is "checked" by hashing it twice, as a signature check
 * costs CPU per transaction.
 * @param {string} prev @param {number} height @param {number} count
 */
function transactionHashes(prev, height, count) {
  const seed = Buffer.from(`${prev}:${height}:`, 'utf8');
  const hashes = [];
  for (let i = 0; i < count; i += 1) {
    const tx = Buffer.alloc(TX_BYTES);
    for (let off = 0; off < TX_BYTES; off += 32) {
      createHash('sha256').update(seed).update(`${i}:${off}`).digest().copy(tx, off);
    }
    hashes.push(sha256d(tx));
  }
  return hashes;
}

/** Bitcoin-style merkle root (an odd last node is paired with itself). @param {Buffer[]} leaves */
function merkleRoot(leaves) {
  let level = leaves;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = /** @type {Buffer} */ (level[i]);
      next.push(sha256d(left, level[i + 1] ?? left));
    }
    level = next;
  }
  return /** @type {Buffer} */ (level[0]);
}

/**
 * Validates the block that follows `parent`: rebuilds its transactions, checks each one, computes
 * the merkle root and the block hash.
 * @param {ChainTip} parent @param {number} txCount @returns {Block}
 */
function validateNextBlock(parent, txCount) {
  const height = parent.height + 1;
  const merkle = merkleRoot(transactionHashes(parent.hash, height, txCount)).toString('hex');
  const header = Buffer.from(`${parent.hash}:${height}:${merkle}:${txCount}`, 'utf8');
  return { height, hash: sha256d(header).toString('hex'), prev: parent.hash, merkle, txs: txCount };
}

module.exports = { GENESIS_HASH, validateNextBlock };
