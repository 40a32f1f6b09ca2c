#!/usr/bin/env node
'use strict';
// The hotspot daemon without the rest of the CLI: what the systemd unit and the agent image run.
// The daemon mostly sleeps between HEAD polls; its heavy work (fetch, unpack) runs in an engine child
// process. V8's lite mode (no optimizing compiler, no feedback vectors) trims its idle memory by
// about 4 MiB, which the memory goal needs (docs/decisions/0507-agent-lite-mode.md).
require('v8').setFlagsFromString('--lite-mode');
require('../dist/agent-main.js')
  .agentMain(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
