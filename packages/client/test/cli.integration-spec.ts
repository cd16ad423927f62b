import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.js';
import { ADMIN_TOKEN, type RunningGateway, startGateway } from '../../../apps/gateway/test/harness.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** CLI tests SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

(swarm ? describe : describe.skip)('berth CLI against a real gateway and swarm', () => {
  let gw: RunningGateway;
  let dir: string;
  const app = `cli-${Date.now().toString(36)}`;

  const runAs = async (token: string, args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { BERTH_URL: gw.url, BERTH_TOKEN: token } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const run = (...args: string[]) => runAs(ADMIN_TOKEN, args);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
    gw = await startGateway({ BERTH_DATA_DIR: dir });
    expect(
      (await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' })).status,
    ).toBe(201);
    await writeFile(
      path.join(dir, 'docker-compose.yml'),
      `name: ${app}\nservices:\n  web:\n    image: berth-test/http:1\n    deploy:\n      replicas: 2\n      update_config: { parallelism: 1, failure_action: rollback, monitor: 3s }\n`,
    );
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ name: app, services: { web: { image: 'x', replicas: -1 } } }));
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/local/apps/${app}-s?wait=true`).catch(() => undefined);
    await gw?.call('DELETE', `/v1/clusters/local/apps/${app}-d?wait=true`).catch(() => undefined);
    await gw?.call('DELETE', `/v1/clusters/local/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets and reads a cluster's workload policy; an operator's refused mount names the field and the rule", async () => {
    await writeFile(path.join(dir, 'policy.yml'), 'hostPaths:\n  - prefix: /srv/data\n    readOnly: true\n');
    const set = await run('policy', 'set', 'local', path.join(dir, 'policy.yml'));
    expect(set).toMatchObject({ code: 0, out: expect.stringMatching(/^local: policy set by token:/) });
    const got = await run('--json', 'policy', 'get', 'local');
    expect(JSON.parse(got.out)).toMatchObject({ isDefault: false, policy: { hostPaths: [{ prefix: '/srv/data', readOnly: true }] } });
    const operator = (await gw.call('POST', '/v1/tokens', { name: 'cli-operator', grants: [{ role: 'operator', cluster: 'local', app: `${app}-p` }] })).body
      .token as string;
    await writeFile(
      path.join(dir, 'mount.json'),
      JSON.stringify({ name: `${app}-p`, services: { web: { image: 'x', volumes: [{ type: 'hostPath', source: '/srv/data/x', target: '/d' }] } } }),
    );
    const refused = await runAs(operator, ['apply', 'local', path.join(dir, 'mount.json')]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/403 FORBIDDEN/);
    expect(refused.err).toMatch(/services\.web\.volumes\[0\]\.source: .*read-only.*\[hostPath\.readOnly\]/);
    const plan = await runAs(operator, ['plan', 'local', path.join(dir, 'mount.json')]);
    expect(plan.out).toMatch(/REFUSED by policy: services\.web\.volumes\[0\]\.source/);
    await writeFile(path.join(dir, 'default.json'), '{}');
    expect((await run('policy', 'set', 'local', path.join(dir, 'default.json'))).code).toBe(0);
    expect(JSON.parse((await run('--json', 'policy', 'get', 'local')).out).policy.hostPaths).toEqual([]);
  });

  it('lists clusters as a table with headers, and by name', async () => {
    const r = await run('clusters');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^NAME +KIND +HEALTH +VERSION +NODES +AGE$/m);
    expect(r.out).toMatch(/^local +swarm +healthy +\d+\.\d+\.\d+\S* +1 +\d+s$/m);
    expect(await run('clusters', 'ls', '-o', 'name')).toMatchObject({ code: 0, out: 'cluster/local' });
    const one = await run('cluster', 'get', 'local');
    expect(one.out).toMatch(/^Health: +healthy/m);
    expect(one.out).toMatch(/^ +NAME +ROLE +STATUS +AVAILABILITY +ADDRESS +VERSION$/m);
    expect(one.out).toMatch(/ manager +ready +active /);
  });

  it('applies a Compose file and waits, then says when nothing changes', async () => {
    const first = await run('apply', 'local', path.join(dir, 'docker-compose.yml'), '--wait');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/operation .*: apply succeeded|: succeeded$/m);
    const again = await run('apply', 'local', path.join(dir, 'docker-compose.yml'), '--wait');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to change/) });
  }, 120_000);

  it("reads a Compose file's secret files here and sends only the values; the gateway shows a version", async () => {
    const value = `cli-secret-${Date.now()}`;
    await writeFile(path.join(dir, 'db_password.txt'), value);
    await writeFile(
      path.join(dir, 'secret-compose.yml'),
      `name: ${app}-s\nservices:\n  db:\n    image: berth-test/busybox:1\n    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./db_password.txt\n`,
    );
    const r = await run('apply', 'local', path.join(dir, 'secret-compose.yml'), '--compose', '--wait');
    expect(r.code).toBe(0);
    const state = await gw.call('GET', `/v1/clusters/local/apps/${app}-s`);
    expect(state.body.spec.secrets).toEqual({ 'db-password': { version: expect.stringMatching(/^[0-9a-f]{12}$/) } });
    expect(JSON.stringify(state.body)).not.toContain(value);
    const again = await run('apply', 'local', path.join(dir, 'secret-compose.yml'), '--compose', '--wait');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to change/) });
  }, 120_000);

  it('converts a Compose project as docker compose reads it: .env, env_file, relative paths; a table and JSON report', async () => {
    const project = path.join(dir, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(path.join(project, '.env'), 'TAG=3\n');
    await writeFile(path.join(project, 'api.env'), 'LOG_LEVEL=debug\n');
    await writeFile(
      path.join(project, 'compose.yaml'),
      'services:\n  api:\n    build: .\n    env_file: api.env\n    environment: { VERSION: "${TAG:?}" }\n    volumes: ["./conf:/conf:ro"]\n    healthcheck: { test: ["CMD", "true"], retries: 500 }\n  debug:\n    image: berth-test/busybox:1\n    profiles: [debug]\n',
    );
    const table = await run('convert', path.join(project, 'compose.yaml'), '--image', 'api=berth-test/http:1');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^KEY +STATUS +SWARM +KUBERNETES +HOW \/ WHY$/m);
    expect(table.out).toMatch(/^services\.api\.healthcheck\.retries +approximated .*capped at 100/m);
    expect(table.out).toMatch(/not deployed \(profiles\): debug$/m);
    const json = await run('convert', path.join(project, 'compose.yaml'), '--image', 'api=berth-test/http:1', '--profile', 'debug', '-o', 'json');
    const result = JSON.parse(json.out);
    expect(result.spec.name).toBe('project');
    expect(result.spec.services.api).toMatchObject({ image: 'berth-test/http:1', env: { VERSION: '3', LOG_LEVEL: 'debug' } });
    expect(result.spec.services.api.volumes).toEqual([{ type: 'hostPath', source: path.join(project, 'conf'), target: '/conf', readOnly: true }]);
    expect(Object.keys(result.spec.services)).toEqual(['api', 'debug']);
    const refused = await run('convert', path.join(project, 'compose.yaml'));
    expect(refused).toMatchObject({ code: 2, err: expect.stringMatching(/services\.api: has only a "build" section: .*--image api=<ref>/) });
  });

  it('plans and applies a Compose file with --image, printing what each key becomes', async () => {
    await writeFile(path.join(dir, 'build-compose.yml'), `name: ${app}-b\nservices:\n  web:\n    build: .\n    ports: ["8080:80"]\n`);
    const plan = await run('plan', 'local', path.join(dir, 'build-compose.yml'), '--compose', '--image', 'web=berth-test/http:1');
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/^services\.web\.build +dropped/m);
    const applied = await run('apply', 'local', path.join(dir, 'build-compose.yml'), '--compose', '--image', 'web=berth-test/http:1', '--wait');
    expect(applied.code).toBe(0);
    expect(applied.err).toMatch(/warning: services\.web: image given for the import: berth-test\/http:1/);
    await gw.call('DELETE', `/v1/clusters/local/apps/${app}-b?wait=true`);
  }, 120_000);

  it('exits 1 when a rollout rolls back, with the reason', async () => {
    const r = await run('set-image', 'local', app, 'web', 'berth-test/unhealthy:1', '--wait');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/rolled_back - web: /);
  }, 180_000);

  it('exits 2 on refused input, naming the field, and on a missing file', async () => {
    const bad = await run('apply', 'local', path.join(dir, 'bad.json'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/services\.web\.replicas: /);
    expect((await run('apply', 'local', path.join(dir, 'nope.yml'))).code).toBe(2);
    expect((await run('scale', 'nowhere', app, 'web', '2')).code).toBe(2);
  });

  it('prints the history as JSON for scripts', async () => {
    const r = await run('--json', 'ops', '--app', app);
    expect(r.code).toBe(0);
    const ops = JSON.parse(r.out) as { kind: string; status: string }[];
    expect(ops.map((o) => `${o.kind}:${o.status}`)).toEqual(['update:rolled_back', 'apply:succeeded']);
  });
  describe('resources, as a kubectl or docker user reads them', () => {
    const d = `${app}-d`;
    beforeAll(async () => {
      await writeFile(
        path.join(dir, 'resources.json'),
        JSON.stringify({
          name: d,
          services: {
            web: { image: 'berth-test/http:1', replicas: 2, ports: [{ target: 80 }] },
            talker: { image: 'berth-test/busybox:1', command: ['sh', '-c', 'echo hello from the talker; sleep 3600'] },
          },
        }),
      );
      const applied = await run('apply', 'local', path.join(dir, 'resources.json'), '--wait');
      expect(applied.code).toBe(0);
    }, 120_000);

    it('lists and shows services with their discovery data; -o wide adds columns', async () => {
      const ls = await run('services', 'ls', 'local', d);
      expect(ls.out.split('\n')[0]).toMatch(/^NAME +MODE +READY +IMAGE +PORTS$/);
      expect(ls.out).toMatch(/^web +replicated +2\/2 +berth-test\/http:1 +\d+->80\/tcp$/m);
      const wide = await run('services', 'ls', 'local', d, '-o', 'wide');
      expect(wide.out.split('\n')[0]).toMatch(/ DNS NAME +VIRTUAL IPS +ROLLOUT$/);
      const get = await run('services', 'get', 'local', d, 'web');
      expect(get.code).toBe(0);
      expect(get.out).toMatch(/^DNS name: +web$/m);
      expect(get.out).toMatch(/^Virtual IPs: +\d+\.\d+\.\d+\.\d+/m);
      expect(get.out.match(/^ {2}web\.\d+ +running +yes +\d+\.\d+\.\d+\.\d+ /gm)).toHaveLength(2);
      const yaml = await run('services', 'get', 'local', d, 'web', '-o', 'yaml');
      expect(yaml.out).toMatch(/^dnsName: web$/m);
    });

    it('scales with services scale, and apps ls / history / diff show the revisions', async () => {
      expect((await run('services', 'scale', 'local', d, 'web', '3', '--wait')).code).toBe(0);
      const json = JSON.parse((await run('services', 'ls', 'local', d, '-o', 'json')).out) as { service: string; replicas: { desired: number } }[];
      expect(json.find((s) => s.service === 'web')?.replicas.desired).toBe(3);
      expect((await run('apps', 'ls', 'local')).out).toMatch(new RegExp(`^${d} +2 +\\d+s +\\d+s$`, 'm'));
      expect((await run('services', 'set-image', 'local', d, 'web', 'berth-test/http:2', '--wait')).code).toBe(0);
      const history = await run('apps', 'history', 'local', d);
      expect(history.out.split('\n')[0]).toMatch(/^REVISION +SOURCE +AUTHOR +AGE +MESSAGE$/);
      expect(history.out).toMatch(/^3\* +update +token:bootstrap-admin +\d+s +update web$/m);
      expect(history.out).toMatch(/^2 +scale +token:bootstrap-admin +\d+s +scale web 2 -> 3$/m);
      const diff = await run('apps', 'diff', 'local', d, '2', '3');
      expect(diff.out).toMatch(/^revision 2 -> 3: 1 change\(s\)$/m);
      expect(diff.out).toMatch(/services\.web\.image/);
    }, 180_000);

    it('updates only what the flags name, update policy included', async () => {
      const r = await run('services', 'update', 'local', d, 'web', '--parallelism', '2', '--delay', '1s', '--wait');
      expect(r.code).toBe(0);
      const spec = (await gw.call('GET', `/v1/clusters/local/apps/${d}`)).body.spec.services.web;
      expect(spec).toMatchObject({ image: 'berth-test/http:2', replicas: 3, update: { parallelism: 2, delay: 1000 } });
      expect(await run('services', 'update', 'local', d, 'web')).toMatchObject({ code: 2, err: expect.stringMatching(/nothing to change/) });
    }, 120_000);

    it("prints a service's logs prefixed with the replica", async () => {
      const r = await run('logs', 'local', d, 'talker', '--tail', '10');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^talker\.1 \| hello from the talker$/m);
    });

    it('runs a job and reports its exit code and log tail; jobs ls and jobs get show it', async () => {
      await writeFile(
        path.join(dir, 'job.yml'),
        `name: migrate\napp: ${d}\nimage: berth-test/busybox:1\ncommand: [sh, -c, "echo migrating; echo giving up; exit 3"]\n`,
      );
      const r = await run('jobs', 'run', 'local', path.join(dir, 'job.yml'), '--wait');
      expect(r.code).toBe(1);
      const id = /job (\S+) /.exec(r.out)?.[1] as string;
      const ls = await run('jobs', 'ls', 'local', '--app', d);
      expect(ls.out).toMatch(new RegExp(`^${id} +${d} +migrate +failed +3 `, 'm'));
      const get = await run('jobs', 'get', 'local', id);
      expect(get.code).toBe(1);
      expect(get.out).toMatch(/^Exit codes: 3$/m);
      expect(get.out).toMatch(/^ {2}.*giving up$/m);
    }, 120_000);

    it('says "No resources found" for an empty list, and prints [] under -o json', async () => {
      expect(await run('volumes', 'ls', 'local', '--app', `${app}-none`)).toMatchObject({ code: 0, out: '', err: 'No resources found' });
      expect(await run('volumes', 'ls', 'local', '--app', `${app}-none`, '-o', 'json')).toMatchObject({ code: 0, out: '[]' });
    });

    it('prints errors as JSON under -o json, with the exit code of the error', async () => {
      const r = await run('-o', 'json', 'services', 'get', 'local', `${app}-none`, 'web');
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out)).toMatchObject({ error: { status: 404, code: 'NOT_FOUND' } });
      const usage = await run('-o', 'json', 'services', 'scale', 'local', d, 'web', 'many');
      expect(usage.code).toBe(2);
    });

    it('follows events with -w until stopped, as the real binary in a pipe', async () => {
      const cli = path.resolve(import.meta.dirname, '../dist/cli.js');
      const child = spawn(process.execPath, [cli, 'events', '-w', '--cluster', 'local', '--app', d, '--limit', '1'], {
        env: { ...process.env, BERTH_URL: gw.url, BERTH_TOKEN: ADMIN_TOKEN },
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const seen = (pattern: RegExp) =>
        new Promise<void>((resolve, reject) => {
          const timer = setInterval(() => pattern.test(out) && (clearInterval(timer), resolve()), 200);
          child.on('exit', (code) => (clearInterval(timer), reject(new Error(`exited ${code}: ${out}`))));
        });
      try {
        await seen(/\n?.+local/);
        const before = out.split('\n').filter(Boolean).length;
        await gw.call('POST', `/v1/clusters/local/apps/${d}/services/talker/scale`, { replicas: 2 });
        await seen(new RegExp(`(.*\\n){${before}}.*local .*talker`));
      } finally {
        child.kill();
      }
    }, 60_000);
  });

  it('keeps contexts in a config file readable by its owner only, never printing the token', async () => {
    const config = path.join(dir, 'berth', 'config.yaml');
    const env = { BERTH_CONFIG: config };
    const as = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    expect(await as('clusters')).toMatchObject({ code: 2, err: expect.stringMatching(/no token/) });
    expect((await as('config', 'set-context', 'prod', '--server', gw.url, '--token', ADMIN_TOKEN)).out).toBe('context "prod" created (current)');
    expect((await as('config', 'set-context', 'staging', '--server', 'http://127.0.0.1:9', '--token', 'nope')).code).toBe(0);
    expect((await as('clusters', '-o', 'name')).out).toBe('cluster/local');
    const contexts = await as('config', 'get-contexts');
    expect(contexts.out).toMatch(/^CURRENT +NAME +SERVER +TOKEN$/m);
    expect(contexts.out).toMatch(/^\* +prod +http:\/\/127\.0\.0\.1:\d+ +set$/m);
    expect(contexts.out).not.toContain(ADMIN_TOKEN);
    expect(await as('config', 'use-context', 'staging')).toMatchObject({ code: 0, out: 'switched to context "staging"' });
    expect((await as('clusters')).code).toBe(3);
    expect((await as('--context', 'prod', 'clusters', '-o', 'name')).out).toBe('cluster/local');
    expect(await as('--context', 'qa', 'clusters')).toMatchObject({ code: 2, err: expect.stringMatching(/no context "qa"/) });
    expect((await stat(config)).mode & 0o777).toBe(0o600);
  });

  it('prints a completion script that completes commands and subcommands in bash', async () => {
    const cli = path.resolve(import.meta.dirname, '../dist/cli.js');
    const complete = (words: string) =>
      spawnSync(
        'bash',
        [
          '-c',
          `source <("${process.execPath}" "${cli}" completion bash); COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _berth_complete; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    expect(complete('berth serv')).toBe('services service');
    expect(complete('berth services s').split(' ').sort()).toEqual(['scale', 'set-image']);
    expect(complete('berth -o json services s').split(' ').sort()).toEqual(['scale', 'set-image']);
    expect((await run('completion', 'zsh')).out).toMatch(/^#compdef berth/);
    expect(await run('completion', 'fish')).toMatchObject({ code: 2, err: expect.stringMatching(/use bash or zsh/) });
  });

  it('creates a token printing only its secret on stdout, and lists tokens without it', async () => {
    const created = await run('tokens', 'create', 'cli-viewer', '--grant', 'viewer:local');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^\S{20,}$/);
    const ls = await run('tokens', 'ls');
    expect(ls.out).toMatch(/ cli-viewer +viewer:local:\* /);
    expect(ls.out).not.toContain(created.out);
    expect((await run('--version')).out).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
