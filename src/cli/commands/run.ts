/**
 * `vtepd run --config FILE`: the daemon. `--check` validates the config and
 * prints it normalised (defaults filled in) without touching the network;
 * interfaces this host lacks are warnings there (the config may be meant for
 * another host) and a refusal (exit 2) for `run`.
 */
import { summary } from './catalog.js';
import { UsageError } from '../../config/usage-error.js';
import type { Command } from '../commander.js';

export function register(program: Command): void {
  program.command('run')
    .description(summary('run'))
    .requiredOption('-c, --config <file>', 'YAML or JSON config (see docs/config-reference.md)')
    .option('--check', 'validate the config, print it normalised (defaults filled in) and exit')
    .action(async (o: { config: string; check?: boolean }) => {
      // Loaded here, not at start-up: the schema compiler and the daemon cost every other command 0.4 s.
      const { ConfigError, loadConfig } = await import('../../config/config-load.js');
      const { HostConfigError, missingInterfaces } = await import('../../config/host-check.js');
      let cfg;
      try {
        cfg = loadConfig(o.config);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message, 2);
        throw err;
      }
      if (o.check) {
        for (const w of missingInterfaces(cfg)) process.stderr.write(`vtepd: warning: ${w}\n`);
        process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
        return;
      }
      const { privilegeProblem } = await import('../../daemon/privileges.js');
      const { createDaemon } = await import('../../daemon/daemon.js');
      const problem = privilegeProblem(cfg);
      if (problem) throw new UsageError(problem, 77);
      const d = createDaemon({ configFile: o.config, cfg });
      try {
        await d.start();
      } catch (err) {
        d.log.fatal({ event: 'start-failed', err: (err as Error).message }, 'vtepd could not start');
        // A config that does not fit this host is a configuration problem (2); anything else failed at run time (1).
        throw new UsageError(`cannot start: ${(err as Error).message}`, err instanceof HostConfigError ? 2 : 1);
      }
      const code = await d.done;
      process.exit(code);
    });
}
