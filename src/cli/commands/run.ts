/**
 * `vtepd run --config FILE`: the daemon. `--check` validates the config and
 * prints it normalised (defaults filled in) without touching the network.
 */
import { UsageError } from '../../config/usage-error.js';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/config-load.js';
import { privilegeProblem } from '../../daemon/privileges.js';
import { Daemon } from '../../daemon/daemon.js';
import { KernelDaemon } from '../../daemon/kernel-daemon.js';

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
        process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
        return;
      }
      const problem = privilegeProblem(cfg);
      if (problem) throw new UsageError(problem, 77);
      // encap-decap kernel (forwarding-learning kernel too, the config loader saw to that): vtepd only programs the kernel's datapath.
      const d = cfg.offload['encap-decap'] === 'kernel' ? new KernelDaemon({ configFile: o.config, cfg }) : new Daemon({ configFile: o.config, cfg });
      try {
        await d.start();
      } catch (err) {
        d.log.fatal({ event: 'start-failed', err: (err as Error).message }, 'vtepd could not start');
        throw new UsageError(`cannot start: ${(err as Error).message}`, 1);
      }
      const code = await d.done;
      process.exit(code);
    });
}
