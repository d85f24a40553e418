#!/usr/bin/env node
// The `mitosis` command: runs the TypeScript sources directly through tsx, so that
// `npx mitosis` works right after `npm install` with no build step to remember.
'use strict';
const path = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(__dirname, '..', 'tsconfig.base.json');
require('tsx/cjs');
require('../apps/cli/src/main.ts');
