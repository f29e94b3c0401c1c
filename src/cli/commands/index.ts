import type { Command } from 'commander';
import { register as dissect } from './dissect.js';
import { register as encap } from './encap.js';
import { register as decap } from './decap.js';
import { register as offload } from './offload.js';
import { register as learn } from './learn.js';
import { register as run } from './run.js';
import { register as fdb } from './fdb.js';
import { register as stats } from './stats.js';
import { register as ports } from './ports.js';
import { register as demo } from './demo.js';
import { register as cost } from './cost.js';
import { register as trace } from './trace.js';
import { register as evpn } from './evpn.js';

/** Each subcommand lives in its own file and registers itself here. */
export function registerAll(program: Command): void {
  dissect(program);
  encap(program);
  decap(program);
  offload(program);
  learn(program);
  run(program);
  fdb(program);
  stats(program);
  ports(program);
  demo(program);
  cost(program);
  trace(program);
  evpn(program);
}
