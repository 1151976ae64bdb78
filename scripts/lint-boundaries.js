// An ESLint rule for the process boundaries (used by eslint.config.js). Resolves every module reference —
// static import/export, dynamic import(), require() — to a repository path, so relative paths cannot slip
// past it the way glob patterns on the import string do.
import { dirname, relative, resolve } from 'node:path';

const ROOT = dirname(dirname(new URL(import.meta.url).pathname));

/** Where a module reference points: `{ pkg }` for a package/builtin, `{ file }` (repo-relative) for a path. */
function target(fromFile, source) {
  if (!source.startsWith('.')) return { pkg: source };
  return { file: relative(ROOT, resolve(dirname(fromFile), source)).replace(/\.js$/, '.ts') };
}

const isElectron = (t) => t.pkg !== undefined && /^electron(\/|$)/.test(t.pkg);
const under = (t, dir) => t.file !== undefined && (t.file === dir || t.file.startsWith(`${dir}/`));

/** The first broken rule for a reference from `zone` to `t`, or null. */
function violation(zone, t) {
  switch (zone) {
    case 'core':
      if (isElectron(t)) return 'the agent core is plain Node: pass Electron objects in from the shell';
      if (under(t, 'src/main') && !under(t, 'src/main/core')) return 'the core must not depend on a shell (src/main outside core/)';
      if (under(t, 'src/renderer') || under(t, 'src/preload')) return 'the core must not depend on the renderer or the preload';
      return null;
    case 'cli':
      if (isElectron(t)) return 'the headless shell runs without Electron';
    // falls through: the CLI is a shell like the desktop one
    case 'shell':
      if (under(t, 'src/main/core') && t.file !== 'src/main/core/index.ts') return 'shells use the core only through its public entry, src/main/core/index.ts';
      if (under(t, 'src/renderer')) return 'the main process must not import renderer code';
      return null;
    case 'shared':
      if (t.pkg !== undefined && (isElectron(t) || t.pkg.startsWith('node:'))) return 'src/shared is platform-neutral: no Node, no Electron';
      if (under(t, 'src/main') || under(t, 'src/renderer') || under(t, 'src/preload')) return 'src/shared imports only src/shared';
      return null;
    case 'renderer':
      if (t.pkg !== undefined && (isElectron(t) || t.pkg.startsWith('node:'))) return 'the renderer talks only to the preload API (window.agent)';
      if (under(t, 'src/main') || under(t, 'src/preload')) return 'the renderer may import only src/shared and its own code';
      return null;
    case 'preload':
      if (under(t, 'src/main') || under(t, 'src/renderer')) return 'the preload may import only src/shared';
      return null;
    default:
      return null;
  }
}

function zoneOf(file) {
  const f = relative(ROOT, file);
  if (f.startsWith('src/main/core/')) return 'core';
  if (f === 'src/main/cli.ts' || f.startsWith('src/main/cli/')) return 'cli';
  if (f.startsWith('src/main/')) return 'shell';
  if (f.startsWith('src/shared/')) return 'shared';
  if (f.startsWith('src/renderer/')) return 'renderer';
  if (f.startsWith('src/preload/')) return 'preload';
  return null;
}

const rule = {
  meta: { type: 'problem', schema: [], messages: { boundary: '{{ source }}: {{ why }}' } },
  create(context) {
    const zone = zoneOf(context.filename);
    if (!zone) return {};
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      const why = violation(zone, target(context.filename, source));
      if (why) context.report({ node, messageId: 'boundary', data: { source, why } });
    };
    const fromSource = (node) => check(node, node.source?.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: fromSource,
      TSImportType: (node) => check(node, node.argument?.literal?.value ?? node.argument?.value),
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0]?.type === 'Literal') check(node, node.arguments[0].value);
      },
    };
  },
};

export default { rules: { imports: rule } };
