#!/usr/bin/env node
// Starts this worker from any folder: runs src/main.ts through tsx (no build step), as
// bin/mitosis.js does for the CLI. Configuration comes from MITOSIS_* variables.
'use strict';
const path = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(__dirname, '..', '..', 'tsconfig.base.json');
require('tsx/cjs');
require('./src/main.ts');
