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
   * Saves an edit. Priority and webhook change in place (setFolderPriority, setFolderWebhook): the
   * folder keeps watching and keeps its jobs. Anything else has no update in the contract, so the
   * entry is replaced: the old one is removed keeping its jobs, then the new settings are added; if
   * the host refuses them, the old settings are put back so a failed edit never stops the watching.
   */
  async replace(old: WatchedFolder, input: WatchedFolderInput): Promise<Outcome<WatchedFolder>> {
    if (changesInPlaceOnly(old, input)) return this.#changeInPlace(old, input);
    const removed = await attempt('removeFolder', () => this.api.removeFolder(old.id, 'keep'));
    if (!removed.ok) return removed;
    const out = await attempt('addFolder', () => this.api.addFolder(input));
    if (!out.ok) await this.notices.run('addFolder', () => this.api.addFolder(inputOf(old)));
    else this.notices.success(`Saved ${out.value.path}.`);
    await this.refresh();
    return out;
  }

  async #changeInPlace(old: WatchedFolder, input: WatchedFolderInput): Promise<Outcome<WatchedFolder>> {
    let out: Outcome<WatchedFolder> = { ok: true, value: old };
    const webhookUrl = input.webhookUrl ?? null;
    if (webhookUrl !== old.webhookUrl) out = await attempt('setFolderWebhook', () => this.api.setFolderWebhook(old.id, webhookUrl));
    const priority = input.priority ?? 'normal';
    if (out.ok && priority !== old.priority) out = await attempt('setFolderPriority', () => this.api.setFolderPriority(old.id, priority));
    if (out.ok) this.notices.success(`Saved ${old.path}.`);
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
    return (list?.jobs ?? []).filter((j) => folder.destinationIds.includes(j.destinationId) && (j.sourcePath.startsWith(root + '/') || j.sourcePath.startsWith(root + '\\')));
  }
}

export function inputOf(f: WatchedFolder): WatchedFolderInput {
  return {
    path: f.path,
    destinationId: f.destinationId,
    destinationIds: f.destinationIds,
    after: f.after,
    moveTo: f.moveTo,
    priority: f.priority,
    prefix: f.prefix,
    include: f.include,
    exclude: f.exclude,
    singlePutThreshold: f.singlePutThreshold,
    ifExists: f.ifExists,
    growing: f.growing,
    stableMs: f.stableMs,
    enabled: f.enabled,
    hashAlgorithms: f.hashAlgorithms,
    mhl: f.mhl,
    webhookUrl: f.webhookUrl,
  };
}

/** Settings that only the engine's in-place commands change; everything else needs the entry replaced. */
const IN_PLACE: ReadonlySet<keyof WatchedFolderInput> = new Set(['priority', 'webhookUrl']);

/** True when the edit differs from the folder in priority or webhook at most. */
export function changesInPlaceOnly(old: WatchedFolder, input: WatchedFolderInput): boolean {
  const before = inputOf(old);
  const after: WatchedFolderInput = { ...before, ...input, destinationIds: input.destinationIds ?? [input.destinationId] };
  return (Object.keys(before) as (keyof WatchedFolderInput)[]).every((k) => IN_PLACE.has(k) || JSON.stringify(before[k] ?? null) === JSON.stringify(after[k] ?? null));
}
