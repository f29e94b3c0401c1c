/**
 * Commander, loaded through require(). Importing it as an ES module goes
 * through its ESM wrapper and Node's CommonJS translation, which costs about
 * 10 ms of every command's start-up (issue #13's budget is 150 ms); require()
 * loads the same files directly. The CLI imports commander from here only.
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export const { Command, Option, CommanderError, InvalidArgumentError } = commander;
export type Command = CommanderModule.Command;
export type Option = CommanderModule.Option;
export type CommanderError = CommanderModule.CommanderError;
export type InvalidArgumentError = CommanderModule.InvalidArgumentError;
