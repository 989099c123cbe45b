import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);

/**
 * Validates Kubernetes objects against the Kubernetes OpenAPI schemas
 * (the kubernetes-models package). Returns one message per invalid object.
 */
export function validateK8s(objects: Array<Record<string, any>>): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    const [group, version] = String(o.apiVersion).includes('/')
      ? String(o.apiVersion).split('/')
      : ['', String(o.apiVersion)];
    const path = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
    let Model: any;
    try {
      Model = require(path)[o.kind];
    } catch {
      errors.push(`${o.kind} ${o.metadata?.name}: no schema for ${o.apiVersion}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      errors.push(`${o.kind} ${o.metadata?.name}: ${(e as Error).message.slice(0, 500)}`);
    }
  }
  return errors;
}

export function parseYamlStream(text: string): Array<Record<string, any>> {
  return parseAllDocuments(text)
    .map((d) => d.toJSON())
    .filter((d) => d && typeof d === 'object');
}
