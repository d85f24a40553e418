#!/usr/bin/env node
// The `mitosis` command. In a development install it runs the TypeScript sources through tsx,
// so edits take effect with no build step; in a production install (npm ci --omit=dev, no tsx)
// it runs the bundle of `npm run build` (dist/apps/cli/main.js).
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'apps', 'cli', 'main.js');

function hasTsx() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

if (process.env.MITOSIS_CLI_BUNDLE !== '1' && hasTsx()) {
  process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.base.json');
  require('tsx/cjs');
  require('../apps/cli/src/main.ts');
} else if (existsSync(bundle)) {
  require(bundle);
} else {
  console.error(
    'mitosis: neither tsx (a development dependency) nor the built CLI (dist/apps/cli/main.js) is installed; run `npm install` for a development install, or `npm run build` before `npm ci --omit=dev`',
  );
  process.exit(70);
}
