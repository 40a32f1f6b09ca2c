#!/usr/bin/env node
'use strict';
// The hotspot daemon without the rest of the CLI: what the systemd unit and the agent image run.
require('../dist/agent-main.js')
  .agentMain(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
