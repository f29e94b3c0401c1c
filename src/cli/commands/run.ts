/**
 * `vtepd run --config FILE`: the daemon. `--check` validates the config and
 * prints it normalised (defaults filled in) without touching the network;
 * interfaces this host lacks are warnings there (the config may be meant for
 * another host) and a refusal (exit 2) for `run`.
 */
import { UsageError } from '../../config/usage-error.js';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/config-load.js';
import { HostConfigError, missingInterfaces } from '../../config/host-check.js';
import { privilegeProblem } from '../../daemon/privileges.js';
import { createDaemon } from '../../daemon/daemon.js';

export function register(program: Command): void {
  program.command('run')
    .description('run the overlay data plane daemon (needs root or CAP_NET_RAW + CAP_NET_ADMIN)')
    .requiredOption('-c, --config <file>', 'YAML or JSON config (see docs/config-reference.md)')
    .option('--check', 'validate the config, print it normalised (defaults filled in) and exit')
    .action(async (o: { config: string; check?: boolean }) => {
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
