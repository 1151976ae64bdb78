import { z } from 'zod';
import type { AgentApi } from '../agent-api.js';
import type { ApiMethod } from './channels.js';

const nonEmpty = (what: string) => z.string().trim().min(1, `${what} must not be empty`);
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-01-31T18:00:00Z' });
const logLevel = z.enum(['debug', 'info', 'warn', 'error']);
const limit = z.number().int().min(1).max(100_000);

const repositorySetup = z.strictObject({
  url: nonEmpty('the repository location'),
  password: z.string().min(1, 'enter or generate a repository password'),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'variable names are UPPER_CASE'), z.string()),
});

/**
 * A zod schema for the arguments of every `AgentApi` method: main parses renderer input with it before the core
 * sees anything.
 */
export const ARGUMENT_SCHEMAS = {
  getStatus: z.tuple([]),
  backupNow: z.tuple([nonEmpty('source').nullable()]),
  checkNow: z.tuple([nonEmpty('repository').nullable()]),
  cancel: z.tuple([nonEmpty('runId').nullable()]),
  pause: z.tuple([isoTime.nullable()]),
  resume: z.tuple([]),
  getHistory: z.tuple([z.strictObject({ limit, source: nonEmpty('source').optional() })]),
  getLogs: z.tuple([z.strictObject({ limit, runId: nonEmpty('runId').optional(), minLevel: logLevel.optional() })]),
  getConfig: z.tuple([]),
  saveConfig: z.tuple([z.string().max(1_000_000, 'the config is larger than 1 MB')]),
  listSnapshots: z.tuple([nonEmpty('repository').nullable()]),
  restore: z
    .tuple([
      z.strictObject({
        repository: nonEmpty('repository'),
        snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/, 'must be a snapshot id (8–64 hex digits)'),
        include: nonEmpty('include').nullable(),
        target: z.string(),
        into: z
          .strictObject({ source: nonEmpty('source'), kind: z.enum(['database', 'volume', 'file']), name: nonEmpty('the new name') })
          .nullable()
          .optional(),
      }),
    ])
    .refine(([r]) => r.into || r.target.trim() !== '', { message: 'give the restore folder', path: [0, 'target'] }),
  testRepository: z.tuple([repositorySetup]),
  generatePassword: z.tuple([]),
  setupStandalone: z.tuple([
    z.strictObject({
      repository: repositorySetup,
      initialise: z.boolean(),
      sources: z.array(nonEmpty('folder')).min(1, 'choose at least one folder to back up'),
      exclude: z.array(z.string()),
      policy: nonEmpty('policy'),
    }),
  ]),
  setupManaged: z.tuple([
    z.strictObject({
      url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://backup.example.com' }),
      enrollmentToken: nonEmpty('the enrollment token'),
      caFile: nonEmpty('the CA file').nullable(),
      insecureLoopback: z.boolean().optional(),
    }),
  ]),
  getSettings: z.tuple([]),
  setSettings: z.tuple([
    z.strictObject({
      autoStart: z.boolean().optional(),
      notifyOnSuccess: z.boolean().optional(),
      notifyOnFailure: z.boolean().optional(),
      notifyOnOverdue: z.boolean().optional(),
    }),
  ]),
} as const satisfies { readonly [K in ApiMethod]: z.ZodType<Parameters<AgentApi[K]>> };

/** The result type of a method, as sent back over IPC. */
export type ApiResult<K extends ApiMethod> = Awaited<ReturnType<AgentApi[K]>>;

/** Turns zod issues into `{ path, message }` pairs that name the argument and the fix. */
export function describeIssues(method: ApiMethod, error: z.ZodError): ReadonlyArray<{ path: string; message: string }> {
  return error.issues.map((i) => ({
    path: [method, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '['),
    message: i.message,
  }));
}
