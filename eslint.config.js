// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const stages = [
  'core',
  'ingest',
  'inventory',
  'store',
  'discover',
  'policy',
  'recommend',
  'analyze',
  'compile',
]
const shells = ['cli', 'server', 'agent']

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      'examples/',
      'web/dist/',
      '*.config.js',
      '.perf/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        {
          ignoreArrowShorthand: true,
          ignoreVoidOperator: true,
          ignoreVoidReturningFunctions: true,
        },
      ],
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...stages.filter((s) => s !== 'core'), ...shells].map((s) => `../${s}/*`),
              message: 'src/core imports nothing else from src',
            },
          ],
        },
      ],
    },
  },
  ...shells.map((shell) => ({
    files: [`src/${shell}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: shells
                .filter((s) => s !== shell)
                .flatMap((s) => [`../${s}/*`, `../../${s}/*`]),
              message: 'shells never import each other',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['src/store/**/*.ts'],
    ignores: ['src/store/duckdb/api.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@duckdb/node-api',
              allowTypeImports: true,
              message:
                "take DuckDB's values from src/store/duckdb/api.ts (loaded with require: no CommonJS export lexing at start-up)",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tests feed parsers from async generators over in-memory arrays
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
)
