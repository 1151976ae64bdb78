/**
 * The single-file binary's entry point (Node's single executable application, see docs/distribution.md): the state
 * database on Node's built-in SQLite, then the same CLI as `bin/restic-agent.js`.
 */
import { useBuiltinSqlite } from './core/index.js';
import { main } from './cli/program.js';

// node:sqlite is still flagged experimental in Node 22: its warning would open every command's output.
const emitWarning = process.emitWarning;
process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
  if (!/SQLite/.test(String(warning))) emitWarning.call(process, warning, ...rest);
}) as typeof process.emitWarning;
useBuiltinSqlite();
process.emitWarning = emitWarning;

void main(process.argv).then((code) => {
  process.exitCode = code;
});
