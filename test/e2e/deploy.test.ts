import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './harness.ts';
import { validateK8s, parseYamlStream } from '../support/k8s-validate.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client']).status === 0;

function render(overlay: string) {
  const r = spawnSync('kubectl', ['kustomize', join(repoRoot, 'deploy', 'overlays', overlay)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseYamlStream(r.stdout);
}

for (const overlay of ['sqlite', 'postgres', 'confidential']) {
  test(
    `deploy/overlays/${overlay} renders offline and validates against the Kubernetes schemas`,
    { skip: hasKubectl ? false : 'kubectl is not installed' },
    () => {
      const objects = render(overlay);
      assert.deepEqual(validateK8s(objects), []);
      const deploy = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deploy.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.ok(c.resources.requests.cpu);
      assert.ok(pod.volumes.some((v: any) => v.secret?.secretName === 'cloak-sealing-key'));
      assert.ok(objects.some((o) => o.kind === 'ConfigMap' && o.data['cloak.yaml']));
      if (overlay === 'sqlite') {
        assert.equal(deploy.spec.replicas, 1);
        assert.equal(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName, 'cloak-data');
      } else {
        assert.equal(deploy.spec.replicas, 3);
        assert.ok(c.env.some((e: any) => e.name === 'CLOAK_DB' && e.valueFrom.secretKeyRef.name === 'cloak-postgres'));
      }
      if (overlay === 'confidential') assert.equal(pod.runtimeClassName, 'kata-cc-isolation');
    },
  );
}
