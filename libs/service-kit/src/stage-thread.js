// Entry of a stage thread: a worker thread starts with no TypeScript loader, whatever its parent
// runs under (tsx, jest), so register tsx here, as bin/mitosis.js does, then run the thread body.
'use strict';
const path = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('tsx/cjs');
require('./stage-thread.ts');
