import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { configPath, loadConfig, saveConfig } from './config.js';
import { type Format, UsageError, serialised, table } from './output.js';

/** `berth config`: contexts as kubectl keeps them; tokens are stored, never printed. */
export function registerConfigCommands(program: Command, io: { out: (line: string) => void; env: Record<string, string | undefined> }, format: () => Format) {
  const file = () => configPath(io.env);
  const config = program.command('config').description(`contexts: named gateways with their tokens, kept in $BERTH_CONFIG or ~/.config/berth/config.yaml`);

  config
    .command('set-context')
    .description('add or change a context (only the flags given change)')
    .argument('<name>')
    .option('--server <url>', 'the gateway URL')
    .option('--token <token>', 'the API token (read from the file with --token-file)')
    .option('--token-file <file>', 'read the token from this file')
    .option('--use', 'make it the current context')
    .action(async (name: string, o: { server?: string; token?: string; tokenFile?: string; use?: boolean }) => {
      // --server and --token are also the global flags: commander hands them to the program
      const globals = program.opts<{ server?: string; token?: string }>();
      o = { ...o, server: o.server ?? globals.server, token: o.token ?? globals.token };
      const current = await loadConfig(file());
      const existing = current.contexts.find((c) => c.name === name);
      const token = o.tokenFile ? (await readFile(o.tokenFile, 'utf8')).trim() : o.token;
      const server = o.server ?? existing?.server;
      if (!server) throw new UsageError(`context "${name}" needs --server`);
      const next = { name, server, token: token ?? existing?.token };
      current.contexts = [...current.contexts.filter((c) => c.name !== name), next];
      if (o.use || !current['current-context']) current['current-context'] = name;
      await saveConfig(file(), current);
      io.out(`context "${name}" ${existing ? 'modified' : 'created'}${current['current-context'] === name ? ' (current)' : ''}`);
    });

  config
    .command('use-context')
    .description('make a context the current one')
    .argument('<name>')
    .action(async (name: string) => {
      const current = await loadConfig(file());
      if (!current.contexts.some((c) => c.name === name)) throw new UsageError(`no context "${name}": see berth config get-contexts`);
      current['current-context'] = name;
      await saveConfig(file(), current);
      io.out(`switched to context "${name}"`);
    });

  config
    .command('current-context')
    .description('print the current context')
    .action(async () => {
      const name = (await loadConfig(file()))['current-context'];
      if (!name) throw new UsageError('no current context: berth config use-context NAME');
      io.out(name);
    });

  config
    .command('get-contexts')
    .description('list the contexts (tokens are not shown)')
    .action(async () => {
      const current = await loadConfig(file());
      const rows = current.contexts.map((c) => ({
        current: c.name === current['current-context'],
        name: c.name,
        server: c.server,
        token: c.token ? 'set' : 'none',
      }));
      io.out(
        serialised(rows, format(), (r: { name: string }) => r.name) ??
          table(rows, [
            { header: 'current', cell: (r) => (r.current ? '*' : '') },
            { header: 'name', cell: (r) => r.name },
            { header: 'server', cell: (r) => r.server },
            { header: 'token', cell: (r) => r.token },
          ]),
      );
    });

  config
    .command('delete-context')
    .argument('<name>')
    .action(async (name: string) => {
      const current = await loadConfig(file());
      if (!current.contexts.some((c) => c.name === name)) throw new UsageError(`no context "${name}"`);
      current.contexts = current.contexts.filter((c) => c.name !== name);
      if (current['current-context'] === name) delete current['current-context'];
      await saveConfig(file(), current);
      io.out(`deleted context "${name}"`);
    });
}
