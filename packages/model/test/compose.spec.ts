import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type ComposeWarning, SpecValidationError, formatIssue, importCompose } from '@berth/model';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');
const pathsOf = (warnings: ComposeWarning[]) => warnings.map((w) => w.path);

const errorsOf = (yaml: string, options = {}): string[] => {
  try {
    importCompose(yaml, options);
  } catch (e) {
    if (e instanceof SpecValidationError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error('expected the import to fail');
};

describe('Compose import', () => {
  it('converts the WordPress quick start: env list and map, named volume, ports, restart', () => {
    const { spec, warnings } = importCompose(fixture('wordpress.yml'), { name: 'blog' });
    expect(spec.name).toBe('blog');
    const db = spec.services.db!;
    expect(db.image).toBe('mysql:8.0');
    expect(db.env.MYSQL_DATABASE).toBe('wordpress');
    expect(db.volumes).toEqual([{ type: 'named', source: 'db-data', target: '/var/lib/mysql', readOnly: false }]);
    expect(db.restart).toEqual({ condition: 'any' });
    const wp = spec.services.wordpress!;
    expect(wp.env.WORDPRESS_DB_HOST).toBe('db:3306');
    expect(wp.ports).toEqual([{ target: 80, published: 8000, protocol: 'tcp', mode: 'ingress' }]);
    expect(pathsOf(warnings)).toEqual(['version', 'services.wordpress.depends_on', 'volumes.db_data']);
    expect(warnings[2]!.message).toMatch(/renamed to "db-data"/);
  });

  it('carries a Swarm stack deploy section: replicas, policies, resources, placement, global mode', () => {
    const { spec, warnings } = importCompose(fixture('voting-stack.yml'));
    expect(spec.name).toBe('vote');
    const vote = spec.services.vote!;
    expect(vote.replicas).toBe(2);
    expect(vote.update).toEqual({ parallelism: 2, delay: 10_000, order: 'start-first', failureAction: 'rollback', monitor: 30_000, maxFailureRatio: 0.3 });
    expect(vote.rollback).toMatchObject({ parallelism: 1, failureAction: 'pause' });
    expect(vote.resources).toEqual({ limits: { cpus: 0.5, memoryBytes: 50 * 1024 ** 2 }, reservations: { cpus: 0.25, memoryBytes: 20 * 1024 ** 2 } });
    expect(vote.restart).toEqual({ condition: 'on-failure', delay: 5000, maxAttempts: 3 });
    expect(spec.services.db!.placement?.constraints).toEqual(['node.role == manager']);
    const worker = spec.services.worker!;
    expect(worker.mode).toBe('global');
    expect(worker.labels).toEqual({ APP: 'VOTING' });
    expect(pathsOf(warnings)).toEqual(
      expect.arrayContaining([
        'secrets.db_password',
        'networks',
        'services.vote.depends_on',
        'services.vote.deploy.restart_policy.window',
        'services.worker.networks',
        'services.worker.deploy.placement.preferences',
      ]),
    );
    // one network per app: a single declared network on a service is not a loss
    expect(pathsOf(warnings)).not.toContain('services.redis.networks');
    // the secret is carried by reference (renamed to a DNS label); its file is read by the client, not here
    expect(spec.secrets).toEqual({ 'db-password': {} });
    expect(spec.services.db!.secrets).toEqual([{ source: 'db-password', mode: 0o444 }]);
    expect(warnings.find((w) => w.path === 'secrets.db_password')?.message).toMatch(/renamed to "db-password"/);
  });

  it('carries secrets by reference: long syntax, octal modes, paths under /run/secrets; external ones are reported', () => {
    const { spec, warnings } = importCompose(
      [
        'name: shop',
        'services:',
        '  api:',
        '    image: shop/api:1',
        '    secrets:',
        '      - source: api_key',
        '        target: /run/secrets/key.txt',
        '        mode: 0440',
        '        uid: "1000"',
        '      - source: tls',
        '        target: /etc/tls/cert.pem',
        '      - vault',
        'secrets:',
        '  api_key:',
        '    environment: API_KEY',
        '  tls:',
        '    file: ./cert.pem',
        '  vault:',
        '    external: true',
      ].join('\n'),
    );
    expect(spec.secrets).toEqual({ 'api-key': {}, tls: {} });
    expect(spec.services.api!.secrets).toEqual([
      { source: 'api-key', target: 'key.txt', mode: 0o440 },
      { source: 'tls', target: 'cert.pem', mode: 0o444 },
    ]);
    expect(pathsOf(warnings)).toEqual([
      'secrets.api_key',
      'secrets.vault',
      'services.api.secrets[0].uid',
      'services.api.secrets[1].target',
      'services.api.secrets[2]',
    ]);
  });

  it('reports each unsupported key of a developer file, interpolates variables and splits commands', () => {
    const { spec, warnings } = importCompose(fixture('dev-app.yml'), { name: 'dev', env: { TAG: '1.4.2' } });
    const api = spec.services.api!;
    expect(api.image).toBe('registry.example.com/team/api:1.4.2');
    expect(api.command).toEqual(['node', 'server.js', '--port', '3000']);
    expect(api.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(api.healthCheck).toEqual({
      test: ['CMD', 'wget', '-qO-', 'http://localhost:3000/health'],
      interval: 30_000,
      timeout: 5000,
      retries: 5,
      startPeriod: 60_000,
    });
    expect(api.ports).toEqual([
      { target: 3000, published: 3000, protocol: 'tcp', mode: 'ingress' },
      { target: 9229, published: 9229, protocol: 'tcp', mode: 'host' },
    ]);
    expect(api.env).toEqual({ NODE_ENV: 'production' });
    expect(api.stopGracePeriod).toBe(90_000);
    expect(api.user).toBe('1000:1000');
    // carried, so that the cluster's workload policy decides about it
    expect(api.capAdd).toEqual(['NET_ADMIN']);
    expect(pathsOf(warnings)).not.toContain('services.api.cap_add');
    expect(spec.services.cache!.volumes).toEqual([{ type: 'implicit', target: '/tmp' }]);
    expect(spec.services.cache!.restart).toEqual({ condition: 'on-failure', maxAttempts: 5 });
    expect(pathsOf(warnings)).toEqual(
      expect.arrayContaining([
        'services.api.build',
        'services.api.container_name',
        'services.api.env_file',
        'services.api.logging',
        'services.api.environment.API_KEY',
        'services.api.ports[0]',
        'x-common',
      ]),
    );
    expect(warnings.find((w) => w.path === 'services.api.build')?.message).toMatch(/building images is not supported/);
  });

  it('maps the four storage kinds and expands port ranges', () => {
    const { spec } = importCompose(fixture('storage.yml'));
    const store = spec.services.store!;
    expect(store.stateful).toBe(true);
    expect(store.replicas).toBe(4);
    expect(store.command).toEqual(['server', '/data']);
    expect(store.volumes).toEqual([
      { type: 'named', source: 'data', target: '/data', readOnly: false },
      { type: 'hostPath', source: '/etc/localtime', target: '/etc/localtime', readOnly: true },
      { type: 'implicit', target: '/cache' },
    ]);
    const web = spec.services.web!;
    expect(web.volumes).toEqual([{ type: 'shared', source: 'shared', target: '/usr/share/nginx/html', readOnly: true }]);
    expect(spec.volumes.shared).toMatchObject({ driver: 'local', driverOptions: { type: 'nfs', o: 'addr=10.0.0.10,rw,nfsvers=4', device: ':/exports/html' } });
    expect(web.ports.map((p) => `${p.published}:${p.target}/${p.protocol}`)).toEqual(['8080:80/tcp', '8081:81/tcp', '53:53/udp']);
  });

  it('refuses what cannot be converted, naming each place', () => {
    expect(
      errorsOf(`
services:
  api:
    build: .
  web:
    image: nginx
    ports: ["80:http"]
    volumes: ["undeclared:/data"]
    deploy:
      mode: replicated-job
`),
    ).toEqual([
      'name: required: the file has no top-level "name"; add `name: <app>` to it, or name the app with ?name=<app> (REST), the name argument (GraphQL) or --name (CLI)',
      'services.api.image: required: Berth deploys images and does not build them',
      'services.web.deploy.mode: "replicated-job" is a job: run it through the jobs API; an app\'s services are "replicated" or "global"',
      'services.web.volumes[0]: volume "undeclared" is not declared under the top-level "volumes"',
      'services.web.ports[0]: expected a port like "8080:80" or "80/udp", got "80:http"',
    ]);
  });

  it('refuses YAML that does not parse, and values the model refuses', () => {
    expect(errorsOf('services: [unclosed', { name: 'x' })[0]).toMatch(/^YAML /);
    expect(errorsOf('services:\n  web:\n    image: nginx\n    deploy:\n      replicas: -2\n', { name: 'x' })).toEqual([
      expect.stringMatching(/^services\.web\.replicas: /),
    ]);
  });
});
