import { RuleTester } from 'eslint';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import boundaries from '../../../scripts/lint-boundaries.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const ROOT = join(import.meta.dirname, '..', '..', '..');
const at = (file: string, code: string) => ({ code, filename: join(ROOT, file) });
const bad = (file: string, code: string) => ({ ...at(file, code), errors: [{ messageId: 'boundary' }] });

new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } }).run('boundaries/imports', boundaries.rules.imports, {
  valid: [
    at('src/main/core/agent/agent.ts', "import { x } from '../config/load.js';"),
    at('src/main/core/agent/agent.ts', "import type { AgentStatus } from '../../../shared/model/status.js';"),
    at('src/main/cli.ts', "import { createAgentCore } from './core/index.js';"),
    at('src/main/index.ts', "import { app } from 'electron'; import type { AgentCore } from './core/index.js';"),
    at('src/main/cli/commands/run.ts', "import { formatRun } from '../format.js';"),
    at('src/preload/index.ts', "import { contextBridge } from 'electron'; import type { AgentApi } from '../shared/agent-api.js';"),
    at('src/renderer/src/App.tsx', "import type { AgentApi } from '../../shared/agent-api.js';"),
    at('tests/unit/x.test.ts', "import { Scheduler } from '../../src/main/core/scheduler/scheduler.js';"),
  ],
  invalid: [
    bad('src/main/core/agent/agent.ts', "import { app } from 'electron';"),
    bad('src/main/core/agent/agent.ts', "import { app } from 'electron/main';"),
    bad('src/main/core/agent/agent.ts', "const { app } = require('electron');"),
    bad('src/main/core/agent/agent.ts', "const e = await import('electron');"),
    bad('src/main/core/agent/agent.ts', "export { app } from 'electron';"),
    bad('src/main/core/agent/agent.ts', "import { TrayService } from '../../tray/tray-service.js';"),
    bad('src/main/core/agent/agent.ts', "import { EXIT } from '../../cli/exit-codes.js';"),
    bad('src/main/core/agent/agent.ts', "import { x } from '../../../renderer/src/api.js';"),
    bad('src/main/cli.ts', "import { app } from 'electron';"),
    bad('src/main/cli/commands/run.ts', "import { Scheduler } from '../../core/scheduler/scheduler.js';"),
    bad('src/main/desktop-api.ts', "import type { AgentCore } from './core/agent/contract.js';"),
    bad('src/shared/model/run.ts', "import { readFile } from 'node:fs';"),
    bad('src/shared/model/run.ts', "import type { AgentCore } from '../../main/core/index.js';"),
    bad('src/renderer/src/App.tsx', "import { ipcRenderer } from 'electron';"),
    bad('src/renderer/src/App.tsx', "import { x } from '../../main/core/index.js';"),
    bad('src/preload/index.ts', "import { x } from '../main/core/index.js';"),
  ],
});
