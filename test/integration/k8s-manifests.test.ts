import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { K8sObject, parseManifests, validateObject } from '../support/k8s-schemas';
import { runCli } from '../support/cluster';

const DIR = path.resolve(__dirname, '../../../deploy/k8s');

function kustomizationResources(): string[] {
  return (parse(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
}

function allObjects(): K8sObject[] {
  return kustomizationResources().flatMap((f) => parseManifests(fs.readFileSync(path.join(DIR, f), 'utf8'), f));
}

function find(kind: string, name: string): K8sObject {
  const o = allObjects().find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} missing`);
  return o;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('kustomization.yaml lists every manifest in deploy/k8s and nothing else', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  assert.deepEqual([...kustomizationResources()].sort(), files);
});

test('every object validates against the Kubernetes and Prometheus Operator schemas', async () => {
  const objects = allObjects();
  assert.ok(objects.length >= 10);
  for (const o of objects) await validateObject(o).catch((e) => assert.fail(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`));
});

test('the schema check refuses planted mistakes', async () => {
  const sts = structuredClone(find('StatefulSet', 'coherd-coordinator')) as Json;
  sts.spec.template.spec.containers[0].ports[0].containerPort = 'seventy';
  await assert.rejects(validateObject(sts as K8sObject), /containerPort must be integer/);
  const ds = structuredClone(find('DaemonSet', 'coherd-agent')) as Json;
  delete ds.spec.selector;
  await assert.rejects(validateObject(ds as K8sObject), /selector/);
  const svc = structuredClone(find('Service', 'coherd-agent')) as Json;
  svc.metadata.labels['app.kubernetes.io/name'] = 42;
  await assert.rejects(validateObject(svc as K8sObject), /must be string/);
  // These schemas do not reject unknown fields: a misspelt field (mountPropogation) passes them, which is
  // why the tests below check the fields that matter by value.
});

test('coordinators: 3 replicas on different nodes, a disruption budget, readiness on /readyz, TLS from Secrets', () => {
  const sts = find('StatefulSet', 'coherd-coordinator') as Json;
  const pod = sts.spec.template.spec;
  assert.equal(sts.spec.replicas, 3);
  const anti = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
  assert.equal(anti.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(anti.labelSelector.matchLabels, sts.spec.selector.matchLabels);
  const c = pod.containers[0];
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.ok(pod.volumes.some((v: Json) => v.secret?.secretName === 'coherd-coordinator-tls'));
  const pdb = find('PodDisruptionBudget', 'coherd-coordinator') as Json;
  assert.equal(pdb.spec.minAvailable, 2);
  assert.deepEqual(pdb.spec.selector.matchLabels, sts.spec.selector.matchLabels);
  const svc = find('Service', 'coherd-coordinator') as Json;
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(sts.spec.template.metadata.labels[k], v);
  assert.equal(sts.spec.serviceName, svc.metadata.name);
});

test('agents: privileged DaemonSet with /dev/fuse, Bidirectional mount propagation and an unmount before stopping', () => {
  const ds = find('DaemonSet', 'coherd-agent') as Json;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.securityContext.privileged, true);
  const fuse = pod.volumes.find((v: Json) => v.hostPath?.path === '/dev/fuse');
  assert.equal(fuse.hostPath.type, 'CharDevice');
  const mounts = c.volumeMounts.find((m: Json) => m.mountPropagation === 'Bidirectional');
  assert.ok(mounts, 'a Bidirectional mount');
  assert.ok(pod.volumes.find((v: Json) => v.name === mounts.name).hostPath, 'propagated to a host path');
  assert.match(c.lifecycle.preStop.exec.command.join(' '), /fusermount3 -uz \/mnt\/coherd\/shared/);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.ok(pod.volumes.some((v: Json) => v.secret?.secretName === 'coherd-agent-tls'));
});

test('the ServiceMonitors select the Services that carry a metrics port', () => {
  for (const name of ['coherd-coordinator', 'coherd-agent']) {
    const sm = find('ServiceMonitor', name) as Json;
    const svc = find('Service', name) as Json;
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels[k], v);
    assert.ok(svc.spec.ports.some((p: Json) => p.name === sm.spec.endpoints[0].port));
  }
});

test('the config files in the ConfigMap pass coherd config check', async () => {
  const cm = find('ConfigMap', 'coherd-config');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-k8s-config-'));
  try {
    for (const [key, kind] of [['coordinator.yaml', 'coordinator'], ['agent.yaml', 'agent']]) {
      const f = path.join(dir, key);
      fs.writeFileSync(f, cm.data![key]);
      const r = await runCli(['config', 'check', '--no-files', '--for', kind, f]);
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
