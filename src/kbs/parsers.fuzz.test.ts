import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { isCloakError } from '../lib/index.ts';
import { parseAttestationPolicy, parseResourcePolicy, DEFAULT_ATTESTATION_POLICY } from '../policy/index.ts';
import { parseManifest } from './manifest.ts';
import { parseInitData } from './initdata.ts';

let seed = 99;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const CHARS = 'abc:{}[]-"\'\n #=.1\\$()!&|?<>\u0000é';
function mangle(text: string): string {
  const b = text.split('');
  for (let k = 0; k < 1 + rand(6); k++) {
    const op = rand(3);
    const at = rand(b.length + 1);
    if (op === 0) b.splice(at, 1);
    else if (op === 1) b.splice(at, 0, CHARS[rand(CHARS.length)]!);
    else b.splice(at, rand(20));
  }
  return b.join('');
}

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const MANIFEST = `version: 1
owners:
  approvals: 1
  users:
    - name: alice
      publicKey: |
${PEM.trim()
  .split('\n')
  .map((l) => '        ' + l)
  .join('\n')}
secrets: [{ name: a, resource: default/secret/a }]
workloads: [{ name: w, secrets: [{ name: a, file: a }], policy: 'status == "affirming"' }]
`;
const H96 = '1a'.repeat(48);
const MANIFEST_WITH_LAUNCH = MANIFEST.replace(
  'policy:',
  `referenceValues: { initData: [${'2b'.repeat(32)}], snp: [{ measurement: ${H96} }], tdx: [{ mr_td: ${H96}, rtmr1: ${H96}, rtmr2: ${H96} }], vtpm: [{ pcrs: { 9: ${'3c'.repeat(32)}, 11: ${'4d'.repeat(32)} } }] }, policy:`,
);
const INIT = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"cloak.toml" = \'\'\'\nname = "w"\n\'\'\'\n';

const parsers: Array<[string, string, (t: string) => unknown]> = [
  ['attestation policy', DEFAULT_ATTESTATION_POLICY, parseAttestationPolicy],
  ['resource policy', 'status == "affirming" && resource.repository in ["a", "b"]', parseResourcePolicy],
  ['manifest', MANIFEST, parseManifest],
  ['manifest with launch reference values', MANIFEST_WITH_LAUNCH, parseManifest],
  ['init-data', INIT, (t) => parseInitData({ format: 'toml', body: t })],
];

for (const [name, good, parse] of parsers) {
  test(`fuzz: ${name} parser throws only CloakError on 2000 mangled inputs`, () => {
    parse(good);
    for (let i = 0; i < 2000; i++) {
      const text = mangle(good);
      try {
        parse(text);
      } catch (e) {
        assert.ok(isCloakError(e), `${name}: ${String(e)} for ${JSON.stringify(text).slice(0, 200)}`);
      }
    }
  });
}
