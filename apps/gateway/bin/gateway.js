#!/usr/bin/env node
// The gateway process: runs the TypeScript sources through tsx (no build step), from any working
// directory, resolving the @mitosis/* path aliases through the workspace's tsconfig.
'use strict';
const path = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('tsx/cjs');
require('../src/main.ts');
