// Shared Jest settings: ts-jest without type-checking (tsc does that in the typecheck target),
// tsconfig paths resolved by Nx's resolver so specs import libs by their @mitosis/* names.
const fs = require('node:fs');
const path = require('node:path');

// ESM-only packages (zarrita, used by @mitosis/tensor-store, and what it imports; quick-lru,
// which geotiff's CommonJS build requires, used by @mitosis/video). Jest runs
// specs as CommonJS and only supports require() of ES modules from Node 24.9, so these are
// compiled to CommonJS (TypeScript's transpiler, allowJs) and their "import"-only export maps
// are mapped to files, which Jest's require-condition resolver cannot find on its own.
const ESM_ONLY = ['zarrita', '@zarrita/storage', 'numcodecs', 'quick-lru'];
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function esmModuleNameMapper() {
  const mapper = {};
  for (const pkg of ESM_ONLY) {
    const root = path.join(__dirname, 'node_modules', pkg);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    // A bare string is the "." export, which Jest's resolver finds on its own.
    const exportMap = typeof manifest.exports === 'string' ? {} : (manifest.exports ?? {});
    for (const [subpath, target] of Object.entries(exportMap)) {
      const file = typeof target === 'string' ? target : target.import;
      if (typeof file !== 'string' || subpath.includes('*')) continue;
      mapper[`^${escape(path.posix.join(pkg, subpath))}$`] = path.join(root, file);
    }
  }
  return mapper;
}

const esmPackages = ESM_ONLY.map(escape).join('|');

module.exports = {
  testEnvironment: 'node',
  resolver: '@nx/jest/plugins/resolver',
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: esmModuleNameMapper(),
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json'), diagnostics: false }],
    [`/node_modules/(${esmPackages})/.+\\.js$`]: [
      'ts-jest',
      {
        tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true, esModuleInterop: true, sourceMap: false },
        diagnostics: false,
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages})/)`],
  testMatch: ['**/?(*.)+(spec).ts'],
  testTimeout: 60000,
};
