/**
 * deploy/kubernetes: parsed and checked for what a fleet needs (they were not
 * applied to a cluster here). The embedded voicebot.yaml is loaded by the real
 * config loader, and the probes, drain hook and grace period are checked
 * against what the code actually serves and does.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { ROOT } from './procs.js';

const DIR = join(ROOT, 'deploy/kubernetes');
type Doc = Record<string, any>;
const parseErrors: string[] = [];
const docs: Doc[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => {
      parseErrors.push(...d.errors.map((e) => `${f}: ${e.message}`));
      return d.toJS() as Doc;
    }),
  );
const find = (kind: string, name: string): Doc => {
  const d = docs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!d) throw new Error(`deploy/kubernetes has no ${kind} ${name}`);
  return d;
};
const metricsSource = readFileSync(join(ROOT, 'core/fleet/metrics.ts'), 'utf8');

describe('deploy/kubernetes manifests', { timeout: 120_000 }, () => {
  it('every document parses and has apiVersion, kind and a name', () => {
    expect(parseErrors).toEqual([]);
    expect(docs.length).toBeGreaterThanOrEqual(7);
    for (const d of docs) {
      expect(typeof d.apiVersion).toBe('string');
      expect(typeof d.kind).toBe('string');
      expect(typeof d.metadata?.name).toBe('string');
    }
  });

  it('the ConfigMap holds a voicebot.yaml the real loader accepts, in a fleet with ops on', async () => {
    const text = find('ConfigMap', 'voicebot-config').data['voicebot.yaml'] as string;
    const env = { POD_IP: '10.0.0.7', POD_NAME: 'voicebot-worker-abc', POD_UID: '6f1c1a4e-0000-4000-8000-000000000001', VOICEBOT_STREAM_TOKEN: 'x'.repeat(24), OPENAI_API_KEY: 'sk-test', RC_CLIENT_ID: 'id', RC_CLIENT_SECRET: 's', RC_JWT: 'j' };
    const { config, diagnostics } = await loadConfigText(text, '/config/voicebot.yaml', { env, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const s = config!.settings;
    expect(s.ops).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(s.fleet.redis).toBe('redis://voicebot-redis:6379');
    expect(s.fleet.advertiseUrl).toBe('ws://10.0.0.7:8081/calls');
    expect(s.fleet.capacity).toBeGreaterThan(0);
  });

  for (const [name, role] of [
    ['voicebot-worker', 'worker'],
    ['voicebot-edge', 'edge'],
  ] as const) {
    it(`${name}: runs --role ${role}, probes /readyz and /healthz on the ops port, drains in preStop within its grace period`, async () => {
      const dep = find('Deployment', name);
      const pod = dep.spec.template.spec;
      const c = pod.containers[0];
      expect(c.command).toEqual(expect.arrayContaining(['run', '--role', role, '-c', '/config/voicebot.yaml']));
      const ops = c.ports.find((p: Doc) => p.name === 'ops');
      expect(ops.containerPort).toBe(9464);
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(c.lifecycle.preStop.exec.command.join(' ')).toMatch(/kill -TERM 1/);
      expect(dep.spec.selector.matchLabels).toEqual(dep.spec.template.metadata.labels);
      expect(dep.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      const envNames = c.env.map((e: Doc) => e.name);
      expect(envNames).toEqual(expect.arrayContaining(['POD_IP', 'POD_NAME', 'POD_UID']));
      expect(c.envFrom[0].secretRef.name).toBe('voicebot-secrets');
      find('Secret', c.envFrom[0].secretRef.name);
      expect(pod.volumes[0].configMap.name).toBe('voicebot-config');
      // The grace period must outlast the drain, or the kubelet kills live calls.
      const text = find('ConfigMap', 'voicebot-config').data['voicebot.yaml'] as string;
      const drain = /drainTimeout:\s*(\d+)m/.exec(text)!;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(drain[1]) * 60);
      if (role === 'worker') expect(c.ports.find((p: Doc) => p.name === 'stream').containerPort).toBe(8081);
    });
  }

  it('the worker HPA scales the worker Deployment on a metric voicebot exports', () => {
    const hpa = find('HorizontalPodAutoscaler', 'voicebot-worker');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'voicebot-worker' });
    const m = hpa.spec.metrics[0];
    expect(m.type).toBe('Pods');
    expect(metricsSource).toContain(`name: '${m.pods.metric.name}'`);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });

  it('Redis has a Deployment and the Service the config points at', () => {
    const svc = find('Service', 'voicebot-redis');
    expect(svc.spec.ports[0].port).toBe(6379);
    const dep = find('Deployment', 'voicebot-redis');
    expect(svc.spec.selector).toEqual(dep.spec.template.metadata.labels);
    expect(dep.spec.template.spec.containers[0].readinessProbe).toBeDefined();
  });
});
