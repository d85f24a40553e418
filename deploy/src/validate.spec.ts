import { scaledObjectProblems, schemaProblems, validateObjects } from './validate';
import type { K8sObject } from './yaml-files';

const deployment: K8sObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'm1', namespace: 'ns' },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
};
const scaled = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'm1', namespace: 'ns' },
  spec: { scaleTargetRef: { name: 'm1' }, minReplicaCount: 0, maxReplicaCount: 2, triggers: [{ type: 'nats-jetstream', metadata }], ...spec },
});
const good = {
  natsServerMonitoringEndpoint: 'nats.ns.svc.cluster.local:8222',
  account: '$G',
  stream: 'mitosis_WORK',
  consumer: 'mitosis_m1',
  lagThreshold: '1',
  activationLagThreshold: '0',
};

describe('schema validation', () => {
  it('accepts a valid object and names what the Kubernetes schema refuses', () => {
    expect(schemaProblems(deployment)).toEqual([]);
    const bad = structuredClone(deployment);
    (bad['spec'] as { template: { spec: { containers: { resources?: unknown }[] } } }).template.spec.containers[0] = { resources: { limits: { cpu: 'two' } } };
    const problems = schemaProblems(bad);
    expect(problems[0]).toMatch(/^Deployment\/ns\/m1: .*containers\/0\/resources\/limits\/cpu must match format "quantity"/);
    expect(schemaProblems({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' } })).toEqual(['Job/j: no schema known for batch/v1 Job']);
  });

  it('checks ScaledObjects against the KEDA CRD and the nats-jetstream scaler', () => {
    expect(validateObjects([deployment, scaled(good)])).toEqual([]);
    expect(scaledObjectProblems(scaled({ ...good, lagThreshold: 5 }), [deployment])).toEqual([
      'ScaledObject/ns/m1: triggers[0]: metadata.lagThreshold must be a string (KEDA metadata is map[string]string), got number',
      'ScaledObject/ns/m1: triggers[0]: lagThreshold must be a whole number >= 1 in a string',
    ]);
    const { consumer: _consumer, ...noConsumer } = good;
    expect(scaledObjectProblems(scaled({ ...noConsumer, lagThresold: '1' }), [deployment])).toEqual([
      'ScaledObject/ns/m1: triggers[0]: unknown nats-jetstream metadata "lagThresold"',
      'ScaledObject/ns/m1: triggers[0]: nats-jetstream needs metadata.consumer',
    ]);
    expect(scaledObjectProblems(scaled(good, { minReplicaCount: 3, scaleTargetRef: { name: 'm9' } }), [deployment])).toEqual([
      'ScaledObject/ns/m1: scaleTargetRef Deployment/m9 is not in the render',
      'ScaledObject/ns/m1: minReplicaCount 3 is above maxReplicaCount 2',
    ]);
    expect(schemaProblems(scaled(good, { minReplicaCount: 'zero' }))[0]).toMatch(/minReplicaCount must be integer/);
  });
});
