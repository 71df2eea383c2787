// "Send files now" (issue 14): files and folders picked or dropped in the UI, queued exactly as
// `hoist upload PATHS --to NAME --prefix P --priority L --hash … [--mhl] [--if-exists POLICY]` queues them (the engine's
// own enqueue: a folder's files recursively, keyed by their path under it), every path and every
// file a folder expands to checked against the host's roots first. What was used is remembered
// per destination, for the next time.
import { HoistError } from '../../../shared/errors.js';
import { SEND_PREVIEW_FILES, type SendDefaults, type SendFilesInput, type SendPreview, type SendResult } from '../../../shared/local-files.js';
import type { Destination } from '../../../shared/types.js';
import { expandPaths, type EnqueueOptions } from '../enqueue.js';
import { requireMhlHash } from '../mhl/manifest.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { SourceRoots } from './roots.js';

/** What sending needs of the engine: its enqueue path and the destinations and remembered settings. */
export interface SendEngine {
  enqueue(paths: readonly string[], o: EnqueueOptions): Promise<JobRecord[]>;
  readonly store: Pick<JobStore, 'getDestination' | 'sendDefaults'>;
}

export class FileSender {
  constructor(
    private readonly engine: SendEngine,
    private readonly roots: SourceRoots,
  ) {}

  /** The files the paths come to and where the first few go; nothing is queued. */
  async preview(input: SendFilesInput): Promise<SendPreview> {
    const options = this.options(input);
    if (options.mhl) requireMhlHash(input.hashes);
    const files = await expandPaths(input.paths, options);
    return {
      files: files.length,
      bytes: files.reduce((sum, f) => sum + Number(f.st.size), 0),
      bucket: options.destination.bucket,
      first: files.slice(0, SEND_PREVIEW_FILES).map((f) => ({ path: f.abs, key: f.key })),
    };
  }

  /** Queues the files (all or none) and remembers the settings as the destination's defaults. */
  async send(input: SendFilesInput): Promise<SendResult> {
    const jobs = await this.engine.enqueue(input.paths, this.options(input));
    this.engine.store.sendDefaults.remember({ destinationId: input.destinationId, prefix: input.prefix, priority: input.priority, hashes: input.hashes, mhl: input.mhl, ifExists: input.ifExists ?? null });
    return { jobIds: jobs.map((j) => j.id), files: jobs.length, bytes: jobs.reduce((sum, j) => sum + j.size, 0) };
  }

  defaults(): SendDefaults[] {
    return this.engine.store.sendDefaults.list();
  }

  private options(input: SendFilesInput): EnqueueOptions & { destination: Destination } {
    const destination = this.engine.store.getDestination(input.destinationId);
    if (!destination) throw new HoistError('config.invalid', { message: `There is no destination ${input.destinationId}.` });
    return {
      destination,
      prefix: input.prefix,
      priority: input.priority,
      hashes: input.hashes,
      mhl: input.mhl ? 'upload' : false,
      ...(input.ifExists ? { ifExists: input.ifExists } : {}),
      admit: (p) => this.roots.admit(p),
    };
  }
}
