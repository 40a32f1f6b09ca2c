#!/usr/bin/env node
'use strict';
// `minerhaul agent run` is the long-lived daemon: same memory trade-off as hotspot-agent/bin
// (docs/decisions/0507-agent-lite-mode.md). Every other command keeps V8's optimizing compiler.
const args = process.argv.slice(2).filter((a) => a !== '--json');
if (args[0] === 'agent' && args[1] === 'run') require('v8').setFlagsFromString('--lite-mode');
require('../dist/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
