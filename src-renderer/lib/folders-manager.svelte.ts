// Watched folders: what is watched, where it goes, and removing one with a decision about its
// unfinished jobs.
import type { HoistApi } from '../../shared/contract.js';
import { TERMINAL_JOB_STATES, JOB_STATES } from '../../shared/states.js';
import type { Job, WatchedFolder, WatchedFolderInput } from '../../shared/types.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

const UNFINISHED_STATES = JOB_STATES.filter((s) => !TERMINAL_JOB_STATES.includes(s));

export class FoldersManager {
  #folders = $state.raw<WatchedFolder[]>([]);
  #loaded = $state(false);

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  get folders(): WatchedFolder[] {
    return this.#folders;
  }
  get loaded(): boolean {
    return this.#loaded;
  }

  async refresh(): Promise<void> {
    const list = await this.notices.run('listFolders', () => this.api.listFolders());
    if (list) this.#folders = list;
    this.#loaded = true;
  }

  async add(input: WatchedFolderInput): Promise<Outcome<WatchedFolder>> {
    const out = await attempt('addFolder', () => this.api.addFolder(input));
    if (out.ok) {
      this.notices.success(`Watching ${out.value.path}.`);
      await this.refresh();
    }
    return out;
  }

  /**
   * The contract has no update, so an edit replaces the entry: the old one is removed keeping its
   * jobs (nothing in flight is lost), then the new settings are added; if the host refuses them,
   * the old settings are put back so a failed edit never silently stops the watching.
   */
  async replace(old: WatchedFolder, input: WatchedFolderInput): Promise<Outcome<WatchedFolder>> {
    const removed = await attempt('removeFolder', () => this.api.removeFolder(old.id, 'keep'));
    if (!removed.ok) return removed;
    const out = await attempt('addFolder', () => this.api.addFolder(input));
    if (!out.ok) await this.notices.run('addFolder', () => this.api.addFolder(inputOf(old)));
    else this.notices.success(`Saved ${out.value.path}.`);
    await this.refresh();
    return out;
  }

  async remove(folder: WatchedFolder, unfinished: 'keep' | 'cancel'): Promise<Outcome<void>> {
    const out = await attempt('removeFolder', () => this.api.removeFolder(folder.id, unfinished));
    if (out.ok) {
      this.notices.success(
        unfinished === 'cancel' ? `Stopped watching ${folder.path}; its unfinished jobs were cancelled.` : `Stopped watching ${folder.path}; its unfinished jobs will finish.`,
      );
      await this.refresh();
    }
    return out;
  }

  /** Unfinished jobs whose source lies under the folder: what "keep or cancel" is about. */
  async unfinishedJobs(folder: WatchedFolder): Promise<Job[]> {
    const list = await this.notices.run('listJobs', () => this.api.listJobs({ states: [...UNFINISHED_STATES], limit: 500 }));
    const root = folder.path.replace(/[\\/]+$/, '');
    return (list?.jobs ?? []).filter((j) => j.destinationId === folder.destinationId && (j.sourcePath.startsWith(root + '/') || j.sourcePath.startsWith(root + '\\')));
  }
}

export function inputOf(f: WatchedFolder): WatchedFolderInput {
  return {
    path: f.path,
    destinationId: f.destinationId,
    prefix: f.prefix,
    include: f.include,
    exclude: f.exclude,
    singlePutThreshold: f.singlePutThreshold,
    growing: f.growing,
    stableMs: f.stableMs,
    enabled: f.enabled,
  };
}
