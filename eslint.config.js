// The linter `npm test` runs (beside the formatter, prettier --check): ESLint's and
// typescript-eslint's recommended rules. Not the type-aware ones: they would add half a minute
// to every run for little the compiler (strict, noUncheckedIndexedAccess) does not catch already.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'assets/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: globals.node},
    rules: {
      // `const {dropped, ...rest} = x` is how a field is left out; `_` names what is ignored.
      '@typescript-eslint/no-unused-vars': ['error', {ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Tests match terminal output, ANSI escapes included, and read the JSON the commands print.
      'no-control-regex': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
)
