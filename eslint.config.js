import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layer rule: a folder may import only the folders it lists. The table is ../shared/DESIGN.md's ("Parts and the rule
// between them"), row for row; src/layers.test.ts fails when the two differ. Folders may be listed before they exist.
export const layers = {
  lib: [],
  attest: ['lib'],
  manifest: ['lib'],
  policy: ['lib'],
  oci: ['lib'],
  store: ['lib'],
  kbs: ['lib', 'attest', 'policy', 'store', 'manifest'],
  server: ['lib', 'attest', 'manifest', 'policy', 'oci', 'store', 'kbs'],
  agent: ['lib', 'attest', 'oci', 'protect', 'manifest', 'kbs'],
  protect: ['lib'],
  mesh: ['lib'],
  runtime: ['lib', 'oci', 'agent', 'protect', 'mesh'],
  k8s: ['lib', 'oci', 'manifest'],
  cli: [
    'lib',
    'attest',
    'manifest',
    'policy',
    'oci',
    'store',
    'kbs',
    'server',
    'agent',
    'protect',
    'mesh',
    'runtime',
    'k8s',
  ],
};
const all = Object.keys(layers);
// Narrower than the layer: the agent ships alone into the TEE, so it speaks the KBS protocol, not the broker.
const narrower = {
  agent: [
    {
      group: ['**/kbs/*', '!**/kbs/guest.ts'],
      message:
        'src/agent imports the KBS protocol from kbs/guest.ts; kbs/index.ts carries the broker, its CEL policies and every verifier',
    },
  ],
};
// Subfolders of a layer named like another layer: src/k8s/policy is the Kata agent policy, not src/policy.
const ownSubfolders = { k8s: ['policy'] };
// An import into another folder goes through an index.ts (the folder's, or one of its subfolders'), or through one
// of these second entries, each lighter than the folder's barrel for a reason.
const entries = {
  // src/cli/main.ts's start-up rule: command files import only light code at the top (no x509, no workers).
  lib: ['errors.ts', 'bytes.ts', 'resource-path.ts'],
  // The agent's bundle: report-data binding without a single verifier (attest/index.ts carries DCAP, SNP, collateral).
  attest: ['binding.ts'],
  // The agent speaks the KBS protocol without the broker.
  kbs: ['guest.ts'],
  // Help text and image naming: the CLI names defaults, limits and image hosts without loading the layer.
  k8s: ['defaults.ts', 'platforms.ts', 'guest-image.ts'],
  manifest: ['names.ts'],
  oci: ['layer-limits.ts'],
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const layerRule = (layer, allowed) =>
  all
    .filter((l) => l !== layer && !allowed.includes(l))
    .map((l) =>
      ownSubfolders[layer]?.includes(l)
        ? // only the layer's parent folder's src/<l>, not its own ./<l>/ subfolder
          { regex: `^(\\.\\./)+${l}(/|$)`, message: `layer rule: src/${layer} may not import src/${l}` }
        : {
            group: [`**/${l}`, `**/${l}/*`, `**/${l}/**`],
            message: `layer rule: src/${layer} may not import src/${l}`,
          },
    )
    .concat(narrower[layer] ?? []);
const throughIndex = (layer, allowed) =>
  allowed.map((l) => ({
    regex: `^(\\.\\./)+${l}/(?!(.+/)?index\\.ts$${(entries[l] ?? []).map((e) => `|${escape(e)}$`).join('')})`,
    message: `import src/${l} through its index.ts${entries[l] ? ` (or ${entries[l].join(', ')}: see eslint.config.js)` : ''}, not its internals`,
  }));
// Tests and their helpers may reach into a folder's internals; the layer rule still holds for them.
const tests = (layer) => [`src/${layer}/**/*.test.ts`, `src/${layer}/**/*.suite.ts`, `src/${layer}/**/testing/**/*.ts`];
const layerConfigs = Object.entries(layers).flatMap(([layer, allowed]) => [
  {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...layerRule(layer, allowed), ...throughIndex(layer, allowed)] }],
    },
  },
  { files: tests(layer), rules: { 'no-restricted-imports': ['error', { patterns: layerRule(layer, allowed) }] } },
]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // The error catalogues merge into lib's ErrorCatalogue as `interface ErrorCatalogue extends KbsErrors {}`.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
  ...layerConfigs,
);
