/**
 * The agent core's public entry: the only module the shells (CLI, Electron main process) import from `core/`.
 * Everything else under `core/` is internal and may move (the lint rule `no-restricted-imports` enforces it).
 */
export { createAgentCore } from './agent/create.js';
export type { AgentCore, AgentCoreOptions, OneShot } from './agent/contract.js';
export { AGENT_COMMIT, AGENT_VERSION, currentPlatform, versionLine } from './agent/version.js';
export { checkPaths } from './config/check-paths.js';
export { ConfigError, readConfigText, validateConfigText } from './config/load.js';
export { parseDuration } from './config/units.js';
export { writeConfigFile } from './config/write.js';
export { formatHuman } from './log/logger.js';
export { currentPlatformPaths } from './paths.js';
export { detectResticVersion } from './restic/restic.js';
export { humanAge } from './scheduler/staleness.js';
export { planInstall, applyInstall, applyUninstall, serviceStatus, type InstallRequest, type ServicePlatform } from './service/install.js';
export { useBuiltinSqlite } from './state/db.js';
export {
  BUILT_IN_RELEASE_KEYS,
  confirmStart,
  inWindow,
  UpdateRefused,
  updaterFor,
  UpdateStateFile,
  verifyDownloadedFile,
  type Prepared,
  type UpdateState,
} from './update/index.js';
export type { UpdateConfig } from './update/updater.js';
