/**
 * The real agent core (`createAgentCore`, real restic) in its own process, so the e2e test can `kill -9` it through
 * `RESTIC_AGENT_FAILPOINTS`. Configured by the CORE_CHILD JSON environment variable; logs to stderr.
 */
import { createAgentCore } from '../../../../src/main/core/agent/create.js';

const cfg = JSON.parse(process.env.CORE_CHILD ?? '{}') as { configPath: string; dataDir: string };
const core = await createAgentCore({
  configPath: cfg.configPath,
  dataDir: cfg.dataDir,
  schedule: true,
  onLog: (e) => process.stderr.write(`${e.level} ${e.message}\n`),
});
process.stderr.write('info child agent started\n');
process.once('SIGTERM', () => {
  void core.stop().then(() => process.exit(0));
});
setInterval(() => {}, 1 << 30);
