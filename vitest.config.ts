import { defineConfig } from 'vitest/config';

export default defineConfig({
  // tsyringe needs legacy (experimental) decorators; test files sit outside the packages' tsconfig.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } } as any,
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts', 'fuzz/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    setupFiles: ['test/setup/data-dir.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
