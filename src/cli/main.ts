#!/usr/bin/env node
/**
 * vtepd command line: one file per subcommand under ./commands, each exporting
 * `register(program)`. Errors that users cause (bad files, bad flags) print one
 * line and exit non-zero; stack traces are for bugs only (VTEPD_DEBUG=1 shows them).
 */
import { Command } from 'commander';
import { registerAll } from './commands/index.js';
import { reportFatal } from './fatal.js';

const program = new Command();
program
  .name('vtepd')
  .description('Userspace overlay data plane: VXLAN, GENEVE and NVGRE encap/decap, MAC learning, pcap replay')
  .version('0.1.0')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerAll(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  reportFatal(err);
});
