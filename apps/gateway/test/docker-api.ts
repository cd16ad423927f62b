import http from 'node:http';

/**
 * A call to the Docker engine API over its unix socket, for tests that need to make the engine emit
 * events the gateway did not cause (volume create/remove is the cheapest event there is).
 */
export function dockerApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * Creates volumes named `<prefix>_vNNN`, one every `everyMs`, `count` of them or (with `more`) for
 * as long as `more(created)` says; `onEach(i)` runs after each.
 */
export async function createVolumes(
  prefix: string,
  count: number,
  everyMs: number,
  onEach: (i: number) => Promise<void> | void = () => {},
  more: (created: number) => boolean = (n) => n < count,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; more(i); i++) {
    const name = `${prefix}_v${String(i).padStart(3, '0')}`;
    const res = await dockerApi('POST', '/volumes/create', { Name: name });
    if (res.status !== 201) throw new Error(`creating volume ${name}: ${res.status} ${res.body}`);
    names.push(name);
    await onEach(i);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return names;
}

export async function removeVolumes(names: string[]): Promise<void> {
  for (const name of names) await dockerApi('DELETE', `/volumes/${encodeURIComponent(name)}`);
}

/** Removes every volume named `<prefix>_...`: the cleanup of a test that may have stopped half way. */
export async function removeVolumesWithPrefix(prefix: string): Promise<void> {
  const res = await dockerApi('GET', `/volumes?filters=${encodeURIComponent(JSON.stringify({ name: [`${prefix}_`] }))}`);
  const { Volumes } = JSON.parse(res.body) as { Volumes: { Name: string }[] | null };
  await removeVolumes((Volumes ?? []).map((v) => v.Name).filter((n) => n.startsWith(`${prefix}_`)));
}
