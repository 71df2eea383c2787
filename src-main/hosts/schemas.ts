// The arguments of every HoistCommand, checked where they enter a host (Electron IPC, the WebSocket
// bridge). Nothing from a renderer reaches the engine unchecked: validateCommand takes `unknown`,
// is pure, and throws nothing but HoistError('config.invalid') naming the argument that is wrong.
import path from 'node:path';
import { z } from 'zod';
import { HOIST_COMMANDS, MAX_JOB_IDS, type HoistApi, type HoistCommand, type JobTarget } from '../../shared/contract.js';
import { HoistError } from '../../shared/errors.js';
import { CONTROLS_SCHEMAS } from './controls-schemas.js';
import { MAX_SEND_PATHS } from '../../shared/local-files.js';
import { MAX_LIFECYCLE_DAYS, MIN_LIFECYCLE_DAYS } from '../../shared/records.js';
import {
  AMAZON_S3_MAX_OBJECT_SIZE,
  MAX_CONCURRENCY,
  MAX_KEY_BYTES,
  MAX_PARTS,
  MAX_PART_SIZE,
  MAX_SINGLE_PUT_SIZE,
  MIN_PART_SIZE,
} from '../../shared/limits.js';
import { AFTER_DELIVERY, CHECKSUM_ALGORITHMS, FILE_HASH_ALGORITHMS, IF_EXISTS_POLICIES, INTEGRITY_MODES, JOB_STATES, PRIORITIES } from '../../shared/states.js';

const MAX_DAYS = 36_500;
const MAX_GLOBS = 200;
const MAX_FOLDER_DESTINATIONS = 16;
const MAX_JOB_SEARCH = 200;

const id = z.int().min(1, 'must be a positive whole number');
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const utf8Bytes = (max: number) => (s: string) => Buffer.byteLength(s, 'utf8') <= max;
/** An optional trailing argument: JSON turns `undefined` in an array into null. */
const optionalArg = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** A lone UTF-16 surrogate has no UTF-8 form: it cannot go into a URL or a key (the SDK throws URIError). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

const objectKey = z
  .string()
  .min(1, 'must not be empty')
  .refine(wellFormed, 'must be well-formed Unicode')
  .refine(utf8Bytes(MAX_KEY_BYTES), `must be at most ${MAX_KEY_BYTES} bytes`);
const keyPrefix = z.string().refine(wellFormed, 'must be well-formed Unicode').refine(utf8Bytes(MAX_KEY_BYTES), `must be at most ${MAX_KEY_BYTES} bytes`);

const destinationInput = z.strictObject({
  id: id.optional(),
  name: text(200).trim().min(1, 'must not be empty'),
  endpoint: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be an http:// or https:// URL') }).max(2048).nullable(),
  region: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as us-east-1'),
  // S3's rule, widened to what S3-compatible servers also accept (capitals, underscores).
  bucket: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/, 'must be a bucket name: 3 to 63 letters, digits, dots, hyphens'),
  prefix: keyPrefix,
  pathStyle: z.boolean(),
  profile: z.string().regex(/^[\w.@+-]{1,128}$/, 'must be an AWS profile name').nullable(),
  storageClass: z.string().regex(/^[A-Z_]{1,40}$/, 'must be a storage class such as STANDARD_IA').nullable(),
  sse: z.enum(['AES256', 'aws:kms']).nullable(),
  sseKmsKeyId: text(2048).min(1).nullable(),
  partSize: z.int().min(MIN_PART_SIZE, 'must be at least 5 MiB').max(MAX_PART_SIZE, 'must be at most 5 GiB'),
  concurrency: z.int().min(1).max(MAX_CONCURRENCY),
  singlePutThreshold: z.int().min(0).max(MAX_SINGLE_PUT_SIZE, 'must be at most 5 GiB (the largest single PutObject)'),
  maxObjectSize: z.int().min(1).max(AMAZON_S3_MAX_OBJECT_SIZE),
  maxParts: z.int().min(1).max(MAX_PARTS),
  checksumAlgorithm: z.enum(CHECKSUM_ALGORITHMS).nullable(),
  ifExists: z.enum(IF_EXISTS_POLICIES).optional(),
  integrity: z.enum(INTEGRITY_MODES).optional(),
});

const credentials = z.strictObject({
  accessKeyId: z.string().regex(/^[\x21-\x7e]{3,128}$/, 'must be an access key id (printable, no spaces)'),
  secretAccessKey: z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be a secret key (printable, no spaces)'),
  sessionToken: z.string().regex(/^[\x21-\x7e]{1,8192}$/, 'must be a session token (printable, no spaces)').optional(),
});

const jobStates = z.array(z.enum(JOB_STATES)).max(JOB_STATES.length);
const jobSearch = text(MAX_JOB_SEARCH).refine(wellFormed, 'must be well-formed Unicode');
const jobQuery = z.strictObject({
  states: jobStates.optional(),
  search: jobSearch.optional(),
  offset: z.int().min(0).optional(),
  limit: z.int().min(1).max(500).optional(),
  sort: z.enum(['id', 'state', 'size', 'progress', 'createdAt']).optional(),
  descending: z.boolean().optional(),
});

// The queue's bulk commands: ids picked (bounded; more is a filter), or a filter the host expands.
const jobTarget = z
  .strictObject({
    ids: z.array(id).min(1, 'must name at least one job').max(MAX_JOB_IDS, `must be at most ${MAX_JOB_IDS} jobs (a filter means more)`).optional(),
    filter: z.strictObject({ states: jobStates.optional(), search: jobSearch.optional() }).optional(),
  })
  .refine((t) => (t.ids === undefined) !== (t.filter === undefined), 'must name either ids or a filter')
  .transform((t) => t as JobTarget);
const jobAction = z.union([z.enum(['pause', 'resume', 'retry', 'cancel', 'clear']), z.strictObject({ priority: z.enum(PRIORITIES) })], {
  error: 'must be "pause", "resume", "retry", "cancel", "clear" or { priority: "high" | "normal" | "low" }',
});

const glob = z.string().min(1).max(1024);
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'must be an absolute path')
  // "/Volumes/Card/../Other" names another folder than it seems to: say the folder itself.
  .refine((p) => !p.split(/[\\/]/).some((segment) => segment === '.' || segment === '..'), 'must not contain . or .. segments');
const webhookUrl = z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be an http:// or https:// URL') }).max(2048);
const folderInput = z.strictObject({
  path: absolutePath,
  destinationId: id,
  destinationIds: z.array(id).min(1).max(MAX_FOLDER_DESTINATIONS).optional(),
  after: z.enum(AFTER_DELIVERY).optional(),
  moveTo: absolutePath.nullable().optional(),
  priority: z.enum(PRIORITIES).optional(),
  prefix: keyPrefix.optional(),
  include: z.array(glob).max(MAX_GLOBS).optional(),
  exclude: z.array(glob).max(MAX_GLOBS).optional(),
  singlePutThreshold: z.int().min(0).max(MAX_SINGLE_PUT_SIZE).nullable().optional(),
  ifExists: z.enum(IF_EXISTS_POLICIES).nullable().optional(),
  growing: z.boolean().optional(),
  stableMs: z.int().min(0).max(86_400_000).optional(),
  enabled: z.boolean().optional(),
  hashAlgorithms: z.array(z.enum(FILE_HASH_ALGORITHMS)).max(FILE_HASH_ALGORITHMS.length).optional(),
  mhl: z.boolean().optional(),
  webhookUrl: webhookUrl.nullable().optional(),
});

// Send files now: the shape here; the roots (symlinks resolved) in the API (engine/sources/roots.ts).
const sendInput = z.strictObject({
  paths: z.array(absolutePath).min(1, 'must name at least one file or folder').max(MAX_SEND_PATHS, `must be at most ${MAX_SEND_PATHS} paths (a folder counts once)`),
  destinationId: id,
  prefix: keyPrefix,
  priority: z.enum(PRIORITIES),
  hashes: z.array(z.enum(FILE_HASH_ALGORITHMS)).max(FILE_HASH_ALGORITHMS.length),
  mhl: z.boolean(),
  ifExists: z.enum(IF_EXISTS_POLICIES).nullish(),
});

const uploadId = z.string().min(1).max(1024).refine(wellFormed, 'must be well-formed Unicode');
const days = (min: number) => z.int().min(min, `must be a whole number of days, at least ${min}`).max(MAX_DAYS);
/** `hoist uploads lifecycle --days` takes the same range. */
const lifecycleDays = z.int().min(MIN_LIFECYCLE_DAYS, `must be a whole number of days, at least ${MIN_LIFECYCLE_DAYS}`).max(MAX_LIFECYCLE_DAYS, `must be at most ${MAX_LIFECYCLE_DAYS} days`);

interface CommandSpec {
  /** Argument names, for messages that say which one is wrong. */
  names: readonly string[];
  schema: z.ZodType;
}

const spec = <T extends z.ZodType>(names: readonly string[], schema: T) => ({ names, schema });

const COMMANDS = {
  listJobs: spec(['query'], z.tuple([optionalArg(jobQuery).transform((q) => q ?? {})])),
  getJob: spec(['id'], z.tuple([id])),
  listFolders: spec([], z.tuple([])),
  listDestinations: spec([], z.tuple([])),
  totals: spec([], z.tuple([])),
  listRemoteUploads: spec(['destinationId', 'prefix'], z.tuple([id, optionalArg(keyPrefix)])),
  addFolder: spec(['input'], z.tuple([folderInput])),
  removeFolder: spec(['id', 'unfinished'], z.tuple([id, z.enum(['keep', 'cancel'])])),
  setFolderWebhook: spec(['id', 'url'], z.tuple([id, webhookUrl.nullable()])),
  setFolderPriority: spec(['id', 'priority'], z.tuple([id, z.enum(PRIORITIES)])),
  saveDestination: spec(['input', 'credentials'], z.tuple([destinationInput, optionalArg(credentials)])),
  removeDestination: spec(['id'], z.tuple([id])),
  testConnection: spec(['destinationId'], z.tuple([id])),
  pauseJob: spec(['id'], z.tuple([id])),
  resumeJob: spec(['id'], z.tuple([id])),
  cancelJob: spec(['id'], z.tuple([id])),
  retryJob: spec(['id'], z.tuple([id])),
  setPriority: spec(['id', 'priority'], z.tuple([id, z.enum(PRIORITIES)])),
  pauseAll: spec([], z.tuple([])),
  resumeAll: spec([], z.tuple([])),
  actOnJobs: spec(['target', 'action'], z.tuple([jobTarget, jobAction])),
  abortRemoteUpload: spec(['destinationId', 'key', 'uploadId'], z.tuple([id, objectKey, uploadId])),
  abortOrphans: spec(['destinationId', 'olderThanDays'], z.tuple([id, days(0)])),
  installLifecycleRule: spec(['destinationId', 'days'], z.tuple([id, lifecycleDays])),
  runnerState: spec([], z.tuple([])),
  listDirectory: spec(['path'], z.tuple([absolutePath.nullable()])),
  previewSend: spec(['input'], z.tuple([sendInput])),
  sendFiles: spec(['input'], z.tuple([sendInput])),
  sendDefaults: spec([], z.tuple([])),
  // A first run (engine/setup/): a draft is a destination's settings without an id; the local test
  // server takes no argument, and the host refuses it unless it offers it (setup/local-server.ts).
  setupInfo: spec([], z.tuple([])),
  testDraftDestination: spec(['input', 'credentials'], z.tuple([destinationInput.omit({ id: true }), optionalArg(credentials)])),
  useLocalTestServer: spec([], z.tuple([])),
  listBatches: spec([], z.tuple([])),
  retryBatch: spec(['id'], z.tuple([id])),
  listWebhookDeliveries: spec(['owedOnly'], z.tuple([optionalArg(z.boolean())])),
  retryWebhookDeliveries: spec(['ids'], z.tuple([z.union([z.literal('given-up'), z.array(text(100).min(1, 'must not be empty')).min(1).max(1000)])])),
  lifecycleRule: spec(['destinationId'], z.tuple([id])),
  supportInfo: spec([], z.tuple([])),
  ...CONTROLS_SCHEMAS,
} satisfies { [K in HoistCommand]: { names: readonly string[]; schema: z.ZodType<Parameters<HoistApi[K]>> } };

/** A command and its arguments, checked: safe to hand to the engine. */
export type ValidCommand = { [K in HoistCommand]: { name: K; args: Parameters<HoistApi[K]> } }[HoistCommand];

const COMMAND_NAMES: ReadonlySet<string> = new Set(HOIST_COMMANDS);

export function isHoistCommand(name: unknown): name is HoistCommand {
  return typeof name === 'string' && COMMAND_NAMES.has(name);
}

/** Checks a command's name and arguments; `args` undefined means none. */
export function validateCommand(name: unknown, args: unknown): ValidCommand {
  if (!isHoistCommand(name)) {
    const shown = typeof name === 'string' ? `"${name.slice(0, 60)}"` : typeof name;
    throw new HoistError('config.invalid', { message: `Unknown command ${shown}.` });
  }
  const list = args === undefined ? [] : args;
  if (!Array.isArray(list)) throw new HoistError('config.invalid', { message: `${name}: the arguments must be a list.` });
  const { names, schema } = COMMANDS[name] as CommandSpec;
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = schema.safeParse(list);
  } catch (err) {
    // A getter or proxy in the input could throw inside the parser: still a bad argument, not a crash.
    throw new HoistError('config.invalid', { message: `${name}: the arguments cannot be read (${(err as Error)?.message ?? 'unknown'}).` });
  }
  if (!parsed.success) throw new HoistError('config.invalid', { message: describeIssue(name, names, parsed.error.issues[0]) });
  const nul = nulPath(parsed.data, []);
  if (nul) throw new HoistError('config.invalid', { message: `${name}: ${[names[Number(nul[0])] ?? `argument ${Number(nul[0]) + 1}`, ...nul.slice(1)].join('.')} must not contain a NUL character.` });
  return { name, args: parsed.data } as ValidCommand;
}

/**
 * Where a string holding NUL (U+0000) sits in parsed arguments, or null. No name, path, key or text
 * Hoist keeps has a use for it, and PostgreSQL refuses it in TEXT (the store would answer with an
 * internal error instead of naming the argument): refused here, for every command at once.
 */
function nulPath(value: unknown, at: string[]): string[] | null {
  if (typeof value === 'string') return value.includes('\0') ? at : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const found = nulPath(v, [...at, k]);
    if (found) return found;
  }
  return null;
}

/** "saveDestination: input.partSize must be at least 5 MiB" */
function describeIssue(command: string, names: readonly string[], issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return `${command}: invalid arguments.`;
  const [first, ...rest] = issue.path;
  if (first === undefined) {
    if (issue.code === 'too_big' || issue.code === 'too_small') {
      return `${command} takes ${names.length === 0 ? 'no arguments' : `${names.length} argument(s): ${names.join(', ')}`}.`;
    }
    return `${command}: ${issue.message}.`;
  }
  const where = [typeof first === 'number' ? (names[first] ?? `argument ${first + 1}`) : String(first), ...rest.map(String)].join('.');
  return `${command}: ${where} ${problem(issue)}.`;
}

const UNIT: Record<string, string> = { string: ' characters', array: ' items' };

/** zod's own wording, rephrased as "must be…"; the messages written in the schemas above stay as they are. */
function problem(issue: z.core.$ZodIssue): string {
  const m = issue.message;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      if (m.endsWith('received undefined')) return 'is missing';
      return issue.expected === 'int' ? 'must be a whole number' : m.replace(/^Invalid input: /, '');
    case 'too_big':
      return m.startsWith('Too big') ? `must be at most ${issue.maximum}${UNIT[issue.origin] ?? ''}` : m;
    case 'too_small':
      return m.startsWith('Too small') ? `must be at least ${issue.minimum}${UNIT[issue.origin] ?? ''}` : m;
    default:
      return m;
  }
}
