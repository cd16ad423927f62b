import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, type RunningGateway, secretOf, startGatewayWithCluster } from '../../../apps/gateway/test/harness.js';

/**
 * The Maven plugin as a Java developer uses it: `mvn -B berth:…` goals on the example project
 * (examples/java-service) against a real gateway and the real Swarm / Kubernetes node. What is
 * asserted is what the developer sees: the build's result, its log, and what runs afterwards.
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];
for (const b of backends)
  if (!b.enabled) console.warn(`\n*** Maven plugin tests on ${b.kind} are SKIPPED (BERTH_SKIP_${b.kind === 'swarm' ? 'SWARM' : 'KUBERNETES'}=1) ***\n`);

const TIMEOUT = 240_000;
/** On Kubernetes, pods run on the real node only when asked (the others are kwok's, which run nothing). */
const REAL_NODE = 'node.labels.berth-runtime == containers';
const root = path.resolve(import.meta.dirname, '../../..');

interface Build {
  code: number;
  log: string;
}

/** Runs `mvn -B args` in `dir`; never throws: a red build is a result. */
function mvn(dir: string, args: string[]): Promise<Build> {
  return new Promise((resolve) => {
    execFile('mvn', ['-B', ...args], { cwd: dir, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, MAVEN_OPTS: '-Xmx512m' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, log: `${stdout}\n${stderr}` });
    });
  });
}

let settings: string;
const logs: string[] = [];

beforeAll(async () => {
  const home = await mkdtemp(path.join(tmpdir(), 'berth-maven-'));
  settings = path.join(home, 'settings.xml');
  // The token lives only here, as Maven's settings.xml holds credentials.
  await writeFile(settings, `<settings><servers><server><id>berth</id><password>${ADMIN_TOKEN}</password></server></servers></settings>\n`);
  // The plugin as this checkout has it (test-all.sh installed it; offline when ~/.m2 has everything).
  const plugin = path.join(root, 'packages/maven-plugin');
  let install = await mvn(plugin, ['-q', '-o', 'install', '-DskipTests']);
  if (install.code !== 0) install = await mvn(plugin, ['-q', 'install', '-DskipTests']);
  if (install.code !== 0) throw new Error(`installing the plugin failed:\n${install.log}`);
}, TIMEOUT);

afterAll(() => {
  // Whatever happened, no build printed the token or its secret.
  const all = logs.join('\n');
  expect(all).not.toContain(ADMIN_TOKEN);
  expect(all).not.toContain(secretOf(ADMIN_TOKEN));
});

describe.each(backends.filter((b) => b.enabled))('the Maven plugin on $kind', ({ kind }) => {
  let gw: RunningGateway;
  let project: string;
  const app = `jsvc-${kind.slice(0, 4)}-${Date.now().toString(36)}`;

  const goal = async (args: string[], version?: string): Promise<Build> => {
    if (version) {
      const pom = path.join(project, 'pom.xml');
      await writeFile(pom, (await readFile(pom, 'utf8')).replace(/<version>[^<]*<\/version>(\s*<packaging>)/, `<version>${version}</version>$1`));
    }
    const onNode = kind === 'kubernetes' ? ['-Dberth.spec=src/main/berth/app-real-node.yaml', `-Dberth.constraints=${REAL_NODE}`] : [];
    const build = await mvn(project, ['-o', '-s', settings, `-Dberth.url=${gw.url}`, '-Dberth.cluster=c1', `-Dberth.app=${app}`, ...onNode, ...args]);
    logs.push(build.log);
    if (process.env.BERTH_MAVEN_LOG_DIR)
      await writeFile(path.join(process.env.BERTH_MAVEN_LOG_DIR, `${kind}-${logs.length}.log`), `mvn ${args.join(' ')}\n${build.log}`);
    return build;
  };
  const images = async () => {
    const res = await gw.call('GET', `/v1/clusters/c1/apps/${app}/services/web`);
    return [...new Set(res.body.endpoints.filter((e: { ready: boolean }) => e.ready).map((e: { image: string }) => e.image))];
  };

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, `berth_maven_${kind.slice(0, 4)}`);
    project = await mkdtemp(path.join(tmpdir(), `java-service-${kind}-`));
    await cp(path.join(root, 'examples/java-service'), project, { recursive: true, filter: (src) => !src.includes(`${path.sep}target`) });
    const spec = await readFile(path.join(project, 'src/main/berth/app.yaml'), 'utf8');
    await writeFile(
      path.join(project, 'src/main/berth/app-real-node.yaml'),
      spec.replace('\n    update:', `\n    placement:\n      constraints: ["${REAL_NODE}"]\n    update:`),
    );
    // First build online once so ~/.m2 has the example's build plugins; every goal after runs offline.
    const first = await mvn(project, ['-q', 'package']);
    if (first.code !== 0) throw new Error(`mvn package of the example failed:\n${first.log}`);
  }, TIMEOUT);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
  });

  it(
    'package + berth:apply deploys the image tagged with the project version and the build is green',
    async () => {
      const build = await goal(['package', 'berth:apply'], '1');
      expect(build.log).toContain('BUILD SUCCESS');
      expect(build.code).toBe(0);
      expect(build.log).toMatch(/apply of jsvc-\S+ succeeded/);
      expect(await images()).toEqual(['berth-test/http:1']);
      const spec = await gw.call('GET', `/v1/clusters/c1/apps/${app}`);
      expect(JSON.stringify(spec.body)).toContain('"SERVICE_VERSION":"1"');
    },
    TIMEOUT,
  );

  it(
    'berth:plan prints what the next version would change and changes nothing',
    async () => {
      // -X: even Maven's debug output (settings, mojo configuration, HTTP) does not show the token.
      const build = await goal(['-X', 'berth:plan'], '2');
      expect(build.code).toBe(0);
      expect(build.log).toContain('changes');
      expect(build.log).toContain('berth-test/http:2');
      expect(await images()).toEqual(['berth-test/http:1']);
    },
    TIMEOUT,
  );

  it(
    'berth:set-image rolls the service with the POM update policy, printing batches as they finish',
    async () => {
      const build = await goal(['berth:set-image', '-Dberth.image=berth-test/http:2']);
      expect(build.code).toBe(0);
      expect(build.log).toMatch(/batches \d+\/2/);
      expect(build.log).toMatch(/rollout of \S+\/web to berth-test\/http:2 succeeded/);
      expect(await images()).toEqual(['berth-test/http:2']);
    },
    TIMEOUT,
  );

  it(
    'a version whose containers die is rolled back and turns the build red with Berth’s reason',
    async () => {
      const build = await goal(['berth:apply', '-Dberth.image.repository=berth-test/unhealthy'], '1');
      expect(build.code).not.toBe(0);
      expect(build.log).toContain('BUILD FAILURE');
      expect(build.log).toMatch(/apply of \S+ rolled back \(ROLLED_BACK\): .*web/);
      expect(await images()).toEqual(['berth-test/http:2']);

      // The same build again (a CI retry): the same Idempotency-Key gets the first build's operation, no new revision.
      const revisions = async () => (await gw.call('GET', `/v1/clusters/c1/apps/${app}/revisions`)).body.items.length;
      const before = await revisions();
      const retried = await goal(['berth:apply', '-Dberth.image.repository=berth-test/unhealthy'], '1');
      expect(retried.code).not.toBe(0);
      expect(retried.log).toMatch(/apply of \S+ rolled back \(ROLLED_BACK\)/);
      expect(await revisions()).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'berth:rollback goes back to a given revision',
    async () => {
      const build = await goal(['berth:rollback', '-Dberth.revision=1']);
      expect(build.code).toBe(0);
      expect(build.log).toMatch(/rollback of \S+ to revision 1 succeeded/);
      expect(await images()).toEqual(['berth-test/http:1']);
    },
    TIMEOUT,
  );

  it(
    'berth:run-job is green for a job that exits 0 and red with the log tail for one that exits 3',
    async () => {
      const ok = await goal(['berth:run-job', '-Dberth.job=migrate', '-Dberth.image=berth-test/job:ok']);
      expect(ok.code).toBe(0);
      expect(ok.log).toContain('job ok: done');
      const failed = await goal(['berth:run-job', '-Dberth.job=migrate', '-Dberth.image=berth-test/job:fail']);
      expect(failed.code).not.toBe(0);
      expect(failed.log).toContain('BUILD FAILURE');
      expect(failed.log).toMatch(/job migrate failed.*exit code 3/);
      expect(failed.log).toContain('job fail: exiting with 3');
    },
    TIMEOUT,
  );

  it(
    'berth:plan takes a Compose file too, with Maven properties filled in and Compose variables left to Compose',
    async () => {
      await writeFile(
        path.join(project, 'src/main/berth/compose.yaml'),
        'services:\n  web:\n    image: berth-test/http:${project.version}\n    environment:\n      GREETING: ${GREETING:-hello}\n',
      );
      const build = await goal(['berth:plan', '-Dberth.spec=src/main/berth/compose.yaml'], '2');
      expect(build.code).toBe(0);
      expect(build.log).toContain(`Berth plan for ${app} on c1: changes`);
      expect(build.log).toContain('berth-test/http:2');
      // Swarm shows GREETING=hello, Kubernetes env[0].name/value: either way Compose filled in its own default.
      expect(build.log).toMatch(/GREETING[\s\S]*hello/);
      expect(build.log).not.toContain('${');
    },
    TIMEOUT,
  );

  it('-Dberth.skip skips the goal without calling Berth', async () => {
    const build = await goal(['berth:apply', '-Dberth.skip=true', '-Dberth.url=http://127.0.0.1:9']);
    expect(build.code).toBe(0);
    expect(build.log).toContain('Berth: skipped');
  });
});
