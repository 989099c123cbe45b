// generate() per platform, in-process: runtime class, digest algorithm, manifest TEEs, schema-valid objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeInitData, readInitData } from '../lib/index.ts';
import { validateK8s } from '../../test/support/k8s-validate.ts';
import { generate, INITDATA_ANNOTATION, PLATFORMS, guestImageReference } from './index.ts';

const APP = `registry.example:5000/shop/app@sha256:${'a'.repeat(64)}`;
const configs = async () => ({ Entrypoint: ['/app'], Env: ['PATH=/usr/bin:/bin'], User: '1000:1000' });
const job = () => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'report' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: APP }] } } },
});

test('every platform: its runtime class, its digest algorithm over the exact init-data, its TEEs; objects the Kubernetes schemas accept; idempotent', async () => {
  for (const p of Object.values(PLATFORMS)) {
    const r = await generate([job()], { platform: p.name, server: 'http://127.0.0.1:8080', imageConfigs: configs });
    assert.deepEqual(validateK8s(r.docs), [], p.name);
    const tpl = r.docs[0]!.spec.template;
    assert.equal(tpl.spec.runtimeClassName, p.runtimeClass);
    const text = decodeInitData(tpl.metadata.annotations[INITDATA_ANNOTATION]);
    assert.equal(readInitData(text).algorithm, p.algorithm);
    const w = r.manifest.workloads![0]!;
    assert.deepEqual(w.tees, p.tees);
    assert.deepEqual(w.referenceValues?.initData, [createHash(p.algorithm).update(text).digest('hex')]);
    const again = await generate(r.docs, {
      platform: p.name,
      server: 'http://127.0.0.1:8080',
      imageConfigs: configs,
      manifest: r.manifest,
    });
    assert.deepEqual(again.changes, [], `${p.name}: a second run changes nothing`);
  }
  const switched = await generate([job()], {
    platform: 'snp',
    tees: ['az-snp-vtpm'],
    runtimeClass: 'my-snp',
    imageConfigs: configs,
  });
  assert.equal(switched.docs[0]!.spec.template.spec.runtimeClassName, 'my-snp');
  assert.deepEqual(switched.manifest.workloads![0]!.tees, ['az-snp-vtpm']);
  assert.ok(switched.notes.some((n) => /allows TEE az-snp-vtpm, which platform snp does not produce/.test(n)));
  await assert.rejects(generate([job()], { platform: 'aks' }), /unknown platform "aks"/);
});

test('image references as image-rs expands them for its policy scopes', () => {
  assert.equal(guestImageReference('nginx@sha256:1'), 'docker.io/library/nginx@sha256:1');
  assert.equal(guestImageReference('bitnami/redis@sha256:1'), 'docker.io/bitnami/redis@sha256:1');
  assert.equal(guestImageReference('index.docker.io/library/nginx:1@sha256:1'), 'docker.io/library/nginx:1@sha256:1');
  assert.equal(guestImageReference('localhost/app@sha256:1'), 'localhost/app@sha256:1');
  assert.equal(guestImageReference(APP), APP);
});
