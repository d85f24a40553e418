#!/usr/bin/env node
// Starts this worker from the sources, from any folder: runs src/main.ts through tsx, for
// development and the one-machine cluster (npm run cluster). Production runs the build instead:
// `npx nx run m1:build`, then `node dist/apps/m1/main.js` (no tsx). Configuration comes from
// MITOSIS_* variables.
'use strict';
const path = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(__dirname, '..', '..', 'tsconfig.base.json');
require('tsx/cjs');
require('./src/main.ts');
