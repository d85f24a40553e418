// Runs every project's specs from the root: `npx jest` (the Nx test targets run them per project).
const { readdirSync, existsSync } = require('node:fs');
const path = require('node:path');

const roots = ['apps', 'libs'].flatMap((dir) => (existsSync(path.join(__dirname, dir)) ? readdirSync(path.join(__dirname, dir)).map((name) => path.join(dir, name)) : []));
module.exports = { projects: roots.filter((root) => existsSync(path.join(__dirname, root, 'jest.config.js'))) };
