#!/usr/bin/env node
/**
 * vtepd command line: one file per subcommand under ./commands, each exporting
 * `register(program)`, loaded only when it runs (commands/catalog.ts). Errors that users cause (bad files, bad flags) print one
 * line and exit non-zero; stack traces are for bugs only (VTEPD_DEBUG=1 shows them).
 *
 * Exit codes (README): 0 ok, 1 bad input or run-time failure, 2 bad usage or
 * config, 77 missing privileges. A usage error commander finds (unknown option,
 * missing argument, a value outside the choices, no command) prints commander's
 * one-line message and a hint naming the command's --help, then exits 2.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from './commander.js';
import { registerFor } from './commands/catalog.js';
import { reportFatal } from './fatal.js';

/** The one version: package.json's (dist/src/cli/main.js and src/cli/main.ts are both three folders down). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  }
}

/** Commander's exits that are not errors: --help, --version (a bare group such as `vtepd fdb` is one: it exits 2). */
const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.version']);

const program = new Command();
program
  .name('vtepd')
  .description('Userspace overlay data plane: VXLAN, GENEVE and NVGRE encap/decap, MAC learning, pcap replay')
  .version(version(), '-V, --version')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

async function main(): Promise<void> {
  await registerFor(program, process.argv);

  // Every command: on a usage error, one hint line instead of the whole help.
  const withHints = (c: Command, path: string): void => {
    c.showHelpAfterError(`(${path} --help lists its arguments and flags)`);
    for (const sub of c.commands) withHints(sub, `${path} ${sub.name()}`);
  };
  withHints(program, 'vtepd');

  if (process.argv.length <= 2) {
    process.stderr.write("vtepd: no command given (vtepd --help lists the commands)\n");
    process.exitCode = 2;
    return;
  }
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = NOT_ERRORS.has(err.code) || (err.code === 'commander.help' && err.exitCode === 0) ? 0 : 2;
      return;
    }
    reportFatal(err);
  }
}

// No top-level await: the same code is bundled into the CommonJS launcher (scripts/bundle-cli.mjs).
main().catch(reportFatal);
