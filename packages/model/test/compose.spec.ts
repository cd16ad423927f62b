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
        'networks.frontend',
        'services.vote.depends_on',
        'services.vote.deploy.restart_policy.window',
        'services.worker.networks[1]',
        'services.worker.deploy.placement.preferences',
      ]),
    );
    // one network per app: a single declared network on a service is not a loss
    expect(pathsOf(warnings).filter((p) => p.startsWith('services.redis.networks'))).toEqual([]);
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
      'secrets.api_key.environment',
      'secrets.api_key',
      'secrets.tls.file',
      'secrets.vault',
      'services.api.secrets[0].uid',
      'services.api.secrets[1].target',
      'services.api.secrets[2]',
    ]);
  });

  it('reports each unsupported key of a developer file, interpolates variables and splits commands', () => {
    const { spec, warnings } = importCompose(fixture('dev-app.yml'), {
      name: 'dev',
      env: { TAG: '1.4.2' },
      files: { '.env': 'LOG_LEVEL=debug\nNODE_ENV=development\n' },
    });
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
    // env_file read on the client, environment wins over it
    expect(api.env).toEqual({ NODE_ENV: 'production', LOG_LEVEL: 'debug' });
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
    expect(warnings.find((w) => w.path === 'services.api.build')?.message).toMatch(/deploys the image and does not build it/);
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
`),
    ).toEqual([
      'name: required: the file has no top-level "name"; add `name: <app>` to it, or name the app with ?name=<app> (REST), the name argument (GraphQL) or --name (CLI)',
      'services.api: has only a "build" section: Berth deploys images and does not build them; build and push the image, then add "image: <ref>" to the service, or give it for the import (CLI: --image api=<ref>; API: ?image=api=<ref>)',
      'services.web.volumes[0]: volume "undeclared" is not declared under the top-level "volumes" (Compose refuses this file too): declare it there',
      'services.web.ports[0]: expected a port like "8080:80", "127.0.0.1:8080:80" or "80/udp", got "80:http"',
    ]);
  });

  it('refuses YAML that does not parse, and values the model refuses', () => {
    expect(errorsOf('services: [unclosed', { name: 'x' })[0]).toMatch(/^YAML /);
    expect(errorsOf('services:\n  web:\n    image: nginx\n    deploy:\n      replicas: -2\n', { name: 'x' })).toEqual([
      'services.web.deploy.replicas: must be at least 0',
    ]);
  });

  it('interpolates every form of the Compose Specification, and refuses an unset required variable naming it and the key', () => {
    const yaml = [
      'name: interp',
      'services:',
      '  api:',
      '    image: "${REGISTRY-reg.example.com}/api:${TAG:?set TAG}"',
      '    environment:',
      '      A: ${UNSET:-dflt}',
      '      B: ${EMPTY:-dflt}',
      '      C: ${EMPTY-dflt}',
      '      D: ${SET:+alt}',
      '      E: ${EMPTY:+alt}',
      '      F: ${EMPTY+alt}',
      '      G: $$HOME and $SET',
      '      H: ${UNSET:-${SET}}',
      '      I: ${NOPE}',
      '    ports: ["${BIND:-}:2283:2283"]',
    ].join('\n');
    const { spec, report } = importCompose(yaml, { env: { TAG: '1.2', SET: 'yes', EMPTY: '' } });
    expect(spec.services.api!.image).toBe('reg.example.com/api:1.2');
    expect(spec.services.api!.env).toEqual({ A: 'dflt', B: 'dflt', C: '', D: 'alt', E: '', F: 'alt', G: '$HOME and yes', H: 'yes', I: '' });
    // an empty host IP from interpolation is no host IP at all, as Compose reads it
    expect(spec.services.api!.ports).toEqual([{ target: 2283, published: 2283, protocol: 'tcp', mode: 'ingress' }]);
    expect(report.entries).toContainEqual(
      expect.objectContaining({ key: 'services.api.environment.I', status: 'approximated', note: expect.stringMatching(/NOPE not set/) }),
    );
    expect(errorsOf(yaml, { env: { SET: 'yes' } })).toEqual(['services.api.image: required variable TAG is not set: set TAG']);
    expect(errorsOf(yaml.replace('${TAG:?set TAG}', '${TAG?}'), { env: {} })).toEqual(['services.api.image: required variable TAG is not set']);
    // ":?" refuses an empty value, "?" only an unset one
    expect(errorsOf(yaml, { env: { TAG: '' } })).toEqual(['services.api.image: required variable TAG is empty: set TAG']);
  });

  it('deploys services under a profile only when the profile is asked for, and says so', () => {
    const yaml = 'name: p\nservices:\n  app:\n    image: a\n  debug:\n    image: b\n    profiles: [debug]\n';
    const plain = importCompose(yaml);
    expect(Object.keys(plain.spec.services)).toEqual(['app']);
    expect(plain.report.profiles).toEqual({ active: [], skippedServices: ['debug'] });
    expect(plain.warnings).toContainEqual({ path: 'services.debug', message: expect.stringMatching(/profile "debug", which was not asked for/) });
    expect(Object.keys(importCompose(yaml, { profiles: ['debug'] }).spec.services)).toEqual(['app', 'debug']);
    expect(Object.keys(importCompose(yaml, { env: { COMPOSE_PROFILES: 'x,debug' } }).spec.services)).toEqual(['app', 'debug']);
  });

  it('imports hundreds of merge-key aliases, and refuses an alias bomb with a clear message', () => {
    let yaml = 'name: many\nx-d: &d\n  image: nginx\n  restart: always\n  environment: {A: "1"}\nservices:\n';
    for (let i = 0; i < 300; i++) yaml += `  s${i}:\n    <<: *d\n`;
    expect(Object.keys(importCompose(yaml).spec.services)).toHaveLength(300);
    let bomb = 'name: bomb\nx-a: &a ["l","l","l","l","l","l","l","l","l"]\n';
    let prev = 'a';
    for (const n of 'bcdefghi') {
      bomb += `x-${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    bomb += 'services:\n  web:\n    image: nginx\n    command: *i\n';
    expect(errorsOf(bomb)[0]).toMatch(/anchors and aliases expand to more than \d+ nodes \(a bound against alias bombs\)/);
  });

  it('accepts the values Compose accepts: disabled checks, retries over 100, us/ns durations, service-level limits', () => {
    const { spec, report } = importCompose(
      [
        'name: vals',
        'services:',
        '  a: {image: x, healthcheck: {disable: true}}',
        '  b: {image: x, healthcheck: {test: ["NONE"]}}',
        '  c:',
        '    image: x',
        '    mem_limit: 512m',
        '    mem_reservation: 128m',
        '    cpus: 1.5',
        '    healthcheck: {test: ["CMD", "true"], retries: 300, interval: 1500us, timeout: 2000000ns}',
      ].join('\n'),
    );
    expect(spec.services.a!.healthCheck).toBeUndefined();
    expect(spec.services.b!.healthCheck).toBeUndefined();
    expect(spec.services.c!.healthCheck).toMatchObject({ retries: 100, interval: 2, timeout: 2 });
    expect(spec.services.c!.resources).toEqual({ limits: { cpus: 1.5, memoryBytes: 512 * 1024 ** 2 }, reservations: { memoryBytes: 128 * 1024 ** 2 } });
    const entry = (key: string) => report.entries.find((e) => e.key === key);
    expect(entry('services.c.healthcheck.retries')).toMatchObject({ status: 'approximated', note: expect.stringMatching(/capped at 100/) });
    expect(entry('services.c.healthcheck.interval')).toMatchObject({ status: 'approximated', note: '1500us rounded to 2ms (Berth counts whole milliseconds)' });
    expect(entry('services.c.mem_limit')).toMatchObject({ status: 'approximated' });
    expect(entry('services.a.healthcheck.disable')?.orchestrators?.swarm).toMatchObject({ status: 'approximated' });
  });

  it('names the rule for service names over 40 characters, and the Compose key in model refusals', () => {
    const long = 'a-service-name-that-is-far-too-long-for-berth';
    expect(errorsOf(`name: x\nservices:\n  ${long}:\n    image: nginx\n`)).toEqual([
      `services.${long}: the service name has ${long.length} characters; Berth allows at most 40 (the orchestrator's object is named "<app>-<service>" and must fit 63): rename the service, and the references to it`,
    ]);
    expect(errorsOf('name: x\nservices:\n  web:\n    image: nginx\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: -5\n')).toEqual([
      // the model's rule, in plain words at the key the user wrote (not healthCheck.interval, not zod's wording)
      'services.web.healthcheck.interval: must be at least 0',
    ]);
  });

  it('resolves relative and ~ bind mounts against the folders it is given, and says how when it is not', () => {
    const yaml = 'name: b\nservices:\n  web:\n    image: nginx\n    volumes: ["./conf:/etc/nginx:ro", "~/data:/data", "../up:/up"]\n';
    const { spec, report } = importCompose(yaml, { baseDir: '/srv/site', homeDir: '/home/ann' });
    expect(spec.services.web!.volumes).toEqual([
      { type: 'hostPath', source: '/srv/site/conf', target: '/etc/nginx', readOnly: true },
      { type: 'hostPath', source: '/home/ann/data', target: '/data', readOnly: false },
      { type: 'hostPath', source: '/srv/up', target: '/up', readOnly: false },
    ]);
    expect(report.entries.find((e) => e.key === 'services.web.volumes[0]')).toMatchObject({
      status: 'approximated',
      note: expect.stringMatching(/resolved against the Compose file's folder \/srv\/site/),
    });
    const errors = errorsOf(yaml);
    expect(errors[0]).toMatch(/^services\.web\.volumes\[0\]: "\.\/conf" is relative to the Compose file's folder: .*give the folder as baseDir/);
    expect(errors[1]).toMatch(/^services\.web\.volumes\[1\]: "~\/data" is relative to a home folder: .*homeDir/);
  });

  it('takes an image for a build-only service from the import options, and merges extends as Compose does', () => {
    const yaml = [
      'name: t',
      'services:',
      '  base: {image: w, environment: {A: "1", B: "1"}, ports: ["80:80"]}',
      '  api: {build: ., extends: base, environment: [B=2], ports: ["81:81"]}',
    ].join('\n');
    const { spec, report } = importCompose(yaml, { images: { api: 'reg/api:7' } });
    expect(spec.services.api).toMatchObject({ image: 'reg/api:7', env: { A: '1', B: '2' } });
    expect(spec.services.api!.ports.map((p) => p.target)).toEqual([80, 81]);
    expect(report.entries.find((e) => e.key === 'services.api.build')?.status).toBe('dropped');
  });
});
