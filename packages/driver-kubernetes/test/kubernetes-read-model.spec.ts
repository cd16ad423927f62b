import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { LABEL } from '@berth/driver';
import { ObjectIndex, groupByService, slim } from '../src/kubernetes-read-model.js';

const pod = (namespace: string, name: string, service?: string): V1Pod => ({
  metadata: { namespace, name, labels: service ? { [LABEL.service]: service } : {} },
});
const names = (items: V1Pod[]) => items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);

describe('read model index', () => {
  it('files objects by namespace and service, answers in the API list order, and follows relabels and deletions', () => {
    const index = new ObjectIndex<V1Pod>();
    for (const p of [pod('shop', 'web-b', 'web'), pod('shop', 'web-a', 'web'), pod('shop', 'db-0', 'db'), pod('blog', 'web-c', 'web')]) index.put(p);
    expect(names(index.of('shop', 'web'))).toEqual(['shop/web-a', 'shop/web-b']);
    expect(names(index.select('shop', undefined))).toEqual(['shop/db-0', 'shop/web-a', 'shop/web-b']);
    expect(names(index.select(undefined, 'web'))).toEqual(['blog/web-c', 'shop/web-a', 'shop/web-b']);
    expect(names(index.select(undefined, undefined))).toEqual(['blog/web-c', 'shop/db-0', 'shop/web-a', 'shop/web-b']);
    expect([...index.services('shop')].sort()).toEqual([
      ['db', 1],
      ['web', 2],
    ]);
    // relabelled: filed under its new service only
    index.put(pod('shop', 'web-b', 'db'));
    expect(names(index.of('shop', 'web'))).toEqual(['shop/web-a']);
    expect(names(index.of('shop', 'db'))).toEqual(['shop/db-0', 'shop/web-b']);
    index.delete(pod('shop', 'web-a'));
    index.delete(pod('shop', 'never-there'));
    expect(index.of('shop', 'web')).toEqual([]);
    expect([...index.services('shop')].map(([s]) => s)).toEqual(['db']);
    expect(index.size).toBe(3);
  });

  it('groups listed objects by namespace and service, keeping their order', () => {
    const of = groupByService([pod('shop', 'web-b', 'web'), pod('shop', 'web-a', 'web'), pod('blog', 'web-c', 'web')]);
    expect(names(of('shop', 'web'))).toEqual(['shop/web-b', 'shop/web-a']);
    expect(of('shop', 'db')).toEqual([]);
  });
});

describe('read model slimming', () => {
  it('drops managedFields, keeping the latest time of a workload (its updatedAt)', () => {
    const d: V1Deployment = {
      metadata: {
        name: 'web',
        managedFields: [
          { manager: 'berth', time: new Date('2026-01-02T00:00:00Z') },
          { manager: 'kube-controller-manager', time: '2026-01-03T00:00:00Z' as unknown as Date },
          { manager: 'kubectl' },
        ],
        annotations: { [LABEL.spec]: '{}', 'kubectl.kubernetes.io/last-applied-configuration': '{...}' },
      },
    };
    slim('Deployment', d);
    expect(d.metadata?.managedFields).toEqual([{ time: '2026-01-03T00:00:00Z' }]);
    expect(d.metadata?.annotations).toEqual({ [LABEL.spec]: '{}' });
    const p: V1Pod = { metadata: { name: 'web-1', managedFields: [{ manager: 'kubelet' }] } };
    slim('Pod', p);
    expect(p.metadata?.managedFields).toBeUndefined();
  });

  it('keeps of a ReplicaSet its identity and revision, and of a pod what its status is read from', () => {
    const rs: V1ReplicaSet = {
      metadata: {
        name: 'web-5d4f8',
        labels: { 'pod-template-hash': '5d4f8' },
        annotations: { 'deployment.kubernetes.io/revision': '3', [LABEL.spec]: '{"big":true}' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1' }],
      },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'web', image: 'x' }] } } },
      status: { replicas: 2 },
    };
    slim('ReplicaSet', rs);
    expect(rs).toEqual({
      metadata: {
        name: 'web-5d4f8',
        labels: { 'pod-template-hash': '5d4f8' },
        annotations: { 'deployment.kubernetes.io/revision': '3' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1' }],
      },
    });
    const p: V1Pod = {
      metadata: { name: 'web-1', annotations: { a: 'b' } },
      spec: {
        containers: [{ name: 'web', image: 'berth-test/http:1', env: [{ name: 'A', value: '1' }] }],
        volumes: [{ name: 'v' }],
        hostname: 'web-1',
        nodeName: 'n1',
      },
      status: { phase: 'Running' },
    };
    slim('Pod', p);
    expect(p).toEqual({
      metadata: { name: 'web-1' },
      spec: { containers: [{ name: 'web', image: 'berth-test/http:1' }], hostname: 'web-1', nodeName: 'n1' },
      status: { phase: 'Running' },
    });
  });
});
