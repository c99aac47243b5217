import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Import directions from DESIGN.md: arrows only point down the package table.
const ourPackages = ['@superres/core', '@superres/models', '@superres/image-io', '@superres/sdk', '@superres/server', '@superres/cli'];
const forbid = (names, message) => names.map((name) => ({ group: [name, `${name}/*`], message }));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'tools/**', '**/test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.mjs', '*.js'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Library code never writes to the console; the CLI owns stdout/stderr.
    files: ['packages/{core,models,image-io,sdk,server}/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-support/**'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-support/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'core is runtime-agnostic: no node:* modules.' },
            ...forbid(ourPackages, 'core imports nothing of ours.'),
            ...forbid(['sharp', 'onnxruntime-node', 'onnxruntime-web', 'fs', 'path', 'os', 'crypto'], 'core is runtime-agnostic.'),
          ],
        },
      ],
    },
  },
  {
    files: ['packages/models/src/**/*.ts'],
    ignores: ['packages/models/src/node/**', '**/*.test.ts', '**/test-support/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Only @superres/models/node may use Node modules; the rest runs in browsers.' },
            ...forbid(['@superres/sdk', '@superres/server', '@superres/cli'], 'models may import only core.'),
            ...forbid(['onnxruntime-node', 'sharp'], 'Native modules belong to the node entry point.'),
          ],
        },
      ],
    },
  },
  {
    files: ['packages/image-io/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...forbid(ourPackages.filter((p) => p !== '@superres/core'), 'image-io may import only core.')] },
      ],
    },
  },
  {
    // The server's dependencies (Fastify, BullMQ, the AWS SDK) load only for serve and worker.
    files: ['packages/cli/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@superres/server', '@superres/server/*'],
              allowTypeImports: true,
              message: 'Load @superres/server lazily (await import) in the serve and worker commands only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/sdk/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...forbid(ourPackages, 'sdk imports zod only.')] }],
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...forbid(['@superres/cli'], 'server may not import the CLI.')] }],
    },
  },
);
