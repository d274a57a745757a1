// ESLint: typescript-eslint strict type-checked rules, plus the module dependency direction
// from docs/ARCHITECTURE.md (the pure core never imports I/O modules or node:*).
import tseslint from 'typescript-eslint';

const coreModules = ['base', 'codec', 'tree', 'session', 'watch', 'prep', 'config', 'quorum'];
const ioPatterns = ['node:*', '**/net/**', '**/server/**', '**/runtime/**', '**/storage/**', '**/cli/**', '**/admin/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'eslint.config.js'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Time, randomness and the disk come in through the injected Clock, random source and
  // FileSystem (src/runtime has the real ones), so a simulation can boot the real server code.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/**', 'src/cli/**', 'src/bin/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Use the injected Clock.' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use the injected random source.' },
        { selector: "MemberExpression[object.name='performance'][property.name='now']", message: 'Use the injected Clock.' },
      ],
      'no-restricted-imports': [
        'error',
        ...['node:fs', 'node:fs/promises', 'fs', 'fs/promises'].map((name) => ({
          name,
          message: 'Use the injected FileSystem (src/runtime has the real one).',
        })),
      ],
    },
  },
  ...coreModules.map((m) => ({
    files: [`src/${m}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ioPatterns, message: 'The pure core must not import I/O modules or node:*.' }] },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance', 'process'].map((name) => ({
          name,
          message: 'The pure core takes time as nowMs arguments and has no timers.',
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'The pure core takes time as nowMs arguments.' }],
    },
  })),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
