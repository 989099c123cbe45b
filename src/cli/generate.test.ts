import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '../k8s/index.ts';
import { DEFAULT_AGENT_IMAGE, DEFAULT_RUNTIME_CLASS } from './generate.ts';

test('cloak generate: the option defaults are the k8s layer\'s defaults', () => {
  assert.equal(DEFAULT_RUNTIME_CLASS, k8s.DEFAULT_RUNTIME_CLASS);
  assert.equal(DEFAULT_AGENT_IMAGE, k8s.DEFAULT_AGENT_IMAGE);
});
