// Lint: typescript-eslint's recommended rules (without type information: the whole run stays
// well under a minute on two cores) and the layering, as import rules (eslint-plugin-boundaries).
// See ARCHITECTURE.md (layers) for the why; prettier owns the formatting (eslint-config-prettier).
import globals from 'globals';
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * Which features (src/modules/<name>) each feature may import. The graph must stay acyclic (checked
 * below, when the config loads): a new arrow is a decision, made here. The portal sits on top and
 * may use them all; nothing imports the portal.
 */
const FEATURES = {
  health: [],
  throttling: [],
  principals: ['throttling'],
  rules: [],
  offers: ['principals', 'rules'],
  ledger: ['principals'],
  statements: ['principals'],
  operations: ['principals', 'throttling'],
  tracking: ['offers', 'principals'],
  conversions: ['ledger', 'offers', 'principals', 'rules', 'throttling', 'tracking'],
  // Commission programs (bonuses, prepaid funding) on top of the conversions and the ledger.
  programs: ['conversions', 'ledger', 'offers', 'principals'],
  // The sweeper asks payouts and billing for their runs whose job may be gone.
  commissions: ['billing', 'conversions', 'ledger', 'payouts', 'programs'],
  'partner-postbacks': ['conversions', 'offers', 'tracking'],
  reports: ['statements', 'tracking'],
  // Payouts and billing move conversions through the conversions repository and lifecycle. A payout
  // run asks webhooks which affiliates want payout.paid, so it queues thousands of dispatches only for them.
  payouts: ['conversions', 'ledger', 'principals', 'webhooks'],
  billing: ['conversions', 'ledger', 'offers', 'principals', 'programs'],
  reconciliation: ['billing', 'ledger', 'payouts'],
  // Outgoing webhooks show conversions as their views do, and call out through the partner postbacks' sender.
  webhooks: ['conversions', 'partner-postbacks'],
  // An advertiser's own Stripe account: its sales record conversions, its refunds reverse them or adjust the ledger.
  'stripe-conversions': ['conversions', 'ledger', 'offers'],
  // Traffic quality scores clicks and conversions, and moves conversions on appeal.
  quality: ['conversions', 'offers', 'principals', 'tracking'],
};
FEATURES.portal = Object.keys(FEATURES);

/** Throws at load if FEATURES has a cycle, naming it. */
function assertAcyclic(graph) {
  const state = new Map();
  const visit = (node, path) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') throw new Error(`eslint.config.mjs: feature import cycle ${[...path.slice(path.indexOf(node)), node].join(' -> ')}`);
    state.set(node, 'open');
    for (const next of graph[node] ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of Object.keys(graph)) visit(node, []);
}
assertAcyclic(FEATURES);

const LOW_LAYERS = ['common', 'config', 'database', 'queue'];
const feature = (names) => ({ to: { element: { type: 'feature', captured: { name: names } } } });

const layering = [
  // The low layers and the integrations know no feature, and nothing of the composition root, the dev tools or the tests.
  {
    from: { element: { types: { anyOf: [...LOW_LAYERS, 'integration'] } } },
    disallow: { to: { element: { types: { anyOf: ['feature', 'app', 'dev', 'test'] } } } },
  },
  // Features never import the composition root, the dev tools or the tests.
  { from: { element: { type: 'feature' } }, disallow: { to: { element: { types: { anyOf: ['app', 'dev', 'test'] } } } } },
  // The application's entry points and composition do not import the dev tools or the tests either.
  { from: { element: { type: 'app' } }, disallow: { to: { element: { types: { anyOf: ['dev', 'test'] } } } } },
  // Each feature imports only the features listed for it in FEATURES.
  ...Object.entries(FEATURES).flatMap(([name, allowed]) => {
    const others = Object.keys(FEATURES).filter((other) => other !== name && !allowed.includes(other));
    return others.length ? [{ from: { element: { type: 'feature', captured: { name } } }, disallow: feature(others) }] : [];
  }),
];

export default tseslint.config(
  { ignores: ['dist/', 'dist-dev/', 'coverage/', 'node_modules/', 'bench/.run/', 'test/artifacts/', 'statements-out/', 'src/modules/portal/assets/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // A leading underscore marks what is unused on purpose (a destructured-away field, a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  // The entity lists: TypeORM itself types an entity class as Function.
  { files: ['src/**/*.entities.ts'], rules: { '@typescript-eslint/no-unsafe-function-type': 'off' } },
  // Maintenance scripts are ES modules run by node.
  { files: ['scripts/**/*.mjs'], languageOptions: { sourceType: 'module', globals: { ...globals.node } } },
  // Jest's configs are CommonJS.
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/**/*.ts', 'migrations/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.js', '.json'] } },
      'boundaries/include': ['src/**/*.ts', 'migrations/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
      'boundaries/elements': [
        { type: 'feature', pattern: 'src/modules/*', capture: ['name'] },
        { type: 'integration', pattern: 'src/integrations/*', capture: ['name'] },
        { type: 'common', pattern: 'src/common' },
        { type: 'config', pattern: 'src/config' },
        { type: 'database', pattern: 'src/database' },
        { type: 'queue', pattern: 'src/queue' },
        { type: 'dev', pattern: 'src/demo' },
        { type: 'migrations', pattern: 'migrations' },
        { type: 'dev', pattern: 'bench' },
        { type: 'test', pattern: 'test' },
        // Last, so it takes only what the others left: the entry points and the composition (src/*.ts).
        { type: 'app', pattern: 'src' },
      ],
    },
    rules: { 'boundaries/dependencies': ['error', { default: 'allow', policies: layering }] },
  },
  // Unit specs sit beside the code they test and may use the test support (a receiver, the emulator).
  { files: ['**/*.spec.ts'], rules: { 'boundaries/dependencies': 'off' } },
  prettier,
);
