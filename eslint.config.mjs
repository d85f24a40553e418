// Lint: type-aware rules for the whole workspace, and the architecture as a lint error through
// @nx/enforce-module-boundaries (tags on two axes: type:* and scope:*).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const transportPackages = ['nats', 'minio', '@grpc/*', '@opentelemetry/*', 's3rver'];

/**
 * The architecture as tags: apps may use any lib; core depends on nothing; science libs (the
 * method) never touch transport code; contract and transport libs never touch the science.
 * Specs may also use the real-server fixtures of libs/testing (`forSpecs`).
 */
function boundaries(forSpecs) {
  const only = (...tags) => (forSpecs ? [...tags, 'type:testing'] : tags);
  return {
    enforceBuildableLibDependency: false,
    // Benchmarks load backends lazily on purpose; that must not forbid static imports elsewhere.
    checkDynamicDependenciesExceptions: ['.*'],
    allow: [],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:science', 'type:contract', 'type:transport', 'type:service', 'type:testing'] },
      // Service kit: hosts the science behind the transports, for the service apps.
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: only('type:core', 'type:science', 'type:contract', 'type:transport', 'type:service') },
      { sourceTag: 'type:core', onlyDependOnLibsWithTags: only('type:core'), bannedExternalImports: transportPackages },
      { sourceTag: 'type:science', onlyDependOnLibsWithTags: only('type:core', 'type:science'), bannedExternalImports: transportPackages },
      { sourceTag: 'type:contract', onlyDependOnLibsWithTags: only('type:core', 'type:contract') },
      { sourceTag: 'type:transport', onlyDependOnLibsWithTags: only('type:core', 'type:contract', 'type:transport') },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:core', 'type:science', 'type:contract', 'type:transport', 'type:service', 'type:testing'] },
    ],
  };
}

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/tmp/**', 'libs/proto/src/gen/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries(false)],
    },
  },
  {
    // Specs may use the shared real-server fixtures of libs/testing whatever their project's type.
    files: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries(true)],
    },
  },
];
