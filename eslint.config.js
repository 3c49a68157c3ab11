// `npm run lint` (and `npm test`, after the build). What it enforces: docs/architecture.md, "Lint".
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { listWorkspaces, repoRoot } from './scripts/workspaces.mjs';

const workspaces = listWorkspaces(repoRoot);
const allNames = workspaces.map((w) => w.name);

// Event data is typed by the schemas catalog; a cast on it (or on a folded state) hides a
// mismatch the compiler would otherwise report.
const eventDataCasts = ['TSAsExpression', 'TSTypeAssertion'].flatMap((cast) => [
  {
    selector: `${cast} > MemberExpression.expression[property.name="data"]`,
    message: 'No cast on event data: read it through its typed envelope (schemas catalog).',
  },
  {
    selector: `${cast} > MemberExpression.expression > MemberExpression.object[property.name="data"]`,
    message: 'No cast on a field of event data: read it through its typed envelope (schemas catalog).',
  },
  {
    selector: `${cast} > CallExpression.expression[callee.name="fold"]`,
    message: 'No cast on fold(...): give the decider its state type instead.',
  },
]);

/** The imports a workspace's README does not allow, as rule options. */
function boundaryRules(w) {
  if (w.mayImport === 'any') return { importRule: ['off'], dynamic: [] };
  const forbidden = allNames.filter((n) => n !== w.name && !w.mayImport.includes(n));
  const allowed = w.mayImport.length === 0 ? 'no workspace' : w.mayImport.join(', ');
  const message = `${w.readme} says: may import ${allowed}.`;
  const escaped = forbidden.map((n) => n.replace(/[/-]/g, (c) => `\\${c}`));
  return {
    importRule: ['error', {
      paths: forbidden.map((name) => ({ name, message })),
      patterns: forbidden.map((name) => ({ group: [`${name}/*`], message })),
    }],
    // Dynamic import() and import('…') types are not seen by no-restricted-imports.
    dynamic: forbidden.length === 0 ? [] : [
      { selector: `ImportExpression > Literal.source[value=/^(${escaped.join('|')})(\\/|$)/]`, message },
      { selector: `TSImportType Literal[value=/^(${escaped.join('|')})(\\/|$)/]`, message },
    ],
  };
}

const perWorkspace = workspaces.flatMap((w) => {
  const { importRule, dynamic } = boundaryRules(w);
  const ignores = w.nested.map((d) => `${d}/**`);
  return [
    {
      name: `registo/boundaries/${w.dir}`,
      files: [`${w.dir}/**/*.ts`],
      ignores,
      rules: {
        '@typescript-eslint/no-restricted-imports': importRule,
        'no-restricted-syntax': ['error', ...dynamic],
      },
    },
    {
      // Production code only: the rule's options replace the ones above, so both sets are here.
      name: `registo/event-data/${w.dir}`,
      files: [`${w.dir}/src/**/*.ts`],
      ignores,
      rules: { 'no-restricted-syntax': ['error', ...eventDataCasts, ...dynamic] },
    },
  ];
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts'] },
  {
    name: 'registo/typescript',
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    // Type information (each file's nearest tsconfig.json) for the promise rules below: a
    // forgotten await in a consumer or a route is a lost error or an unordered write.
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: repoRoot } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true,
      }],
    },
  },
  {
    // Tests poke at untyped JSON, and chai's property assertions (`.to.be.empty`) are expressions;
    // the fixtures package builds that untyped JSON (hostile packets are any JSON by design).
    name: 'registo/tests',
    files: ['test/**/*.ts', '*/test/**/*.ts', '*/*/test/**/*.ts', 'fixtures/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    name: 'registo/small-functions',
    files: ['*/src/**/*.ts', '*/*/src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  ...perWorkspace,
);
