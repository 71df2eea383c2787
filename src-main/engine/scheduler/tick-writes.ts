// One tick's writes in one commit (issue 12; docs/small-files.md, "Fifth round"). The ends of the
// small files whose PutObject answered since the last tick (single-put.ts), the `sending` mark of each
// part the tick sends and the claim of each queued job it opens were a commit each; they are written
// in one transaction, and only what it committed is acted on: a part goes to a worker only once its
// mark is committed, a job is prepared only once its claim is, hosts hear of an end once it is. A
// transaction that fails acts on nothing: the parts' slots are given back, the jobs stay queued, the
// ends go back to be written alone (scheduler.ts), and the error goes where a tick's errors go.
import type { JobRecord } from '../store/rows.js';
import type { UploadStore } from '../store/upload-store.js';
import type { ActiveJob } from './active-job.js';
import type { GroupedWrite, RunContext } from './context.js';
import { launch, unreserve, type Reserved } from './send.js';

export class TickWrites {
  private readonly sends: Reserved[] = [];
  private readonly opens: ActiveJob[] = [];

  /** `pending`: the writes waiting for a tick (RunContext.writeSoon); taken at the commit, given back if it fails. */
  constructor(private readonly pending: GroupedWrite[]) {}

  /** A part reserved (send.ts `reserve`): its mark goes with the tick's commit. */
  send(r: Reserved): void {
    this.sends.push(r);
  }

  /** A queued job the tick opens: its claim goes with the tick's commit. */
  open(a: ActiveJob): void {
    this.opens.push(a);
  }

  /** The tick ended before its commit (an error while it decided): nothing reserved goes. */
  drop(): void {
    for (const r of this.sends.splice(0)) unreserve(r);
    this.opens.length = 0;
  }

  /**
   * Writes the marks and claims in one transaction (none when there is nothing to write), then sends
   * the parts whose mark took and hands the jobs whose claim took to `opened`, with the row claimed.
   */
  commit(ctx: RunContext, store: Pick<UploadStore, 'atomically' | 'markPartSending'>, claim: (jobId: number) => JobRecord | undefined, opened: (a: ActiveJob, row: JobRecord) => void): void {
    if (this.sends.length === 0 && this.opens.length === 0 && this.pending.length === 0) return;
    const grouped = this.pending.splice(0);
    let took: { sent: boolean[]; claimed: Array<JobRecord | undefined> };
    try {
      took = store.atomically(() => {
        for (const w of grouped) w.write();
        return {
          sent: this.sends.map((r) => store.markPartSending(r.a.job.id, r.part.partNumber)),
          claimed: this.opens.map((a) => claim(a.job.id)),
        };
      });
    } catch (err) {
      this.drop();
      this.pending.unshift(...grouped);
      throw err;
    }
    for (const w of grouped) w.then();
    this.sends.forEach((r, i) => (took.sent[i] ? launch(ctx, r) : unreserve(r)));
    this.opens.forEach((a, i) => {
      const row = took.claimed[i];
      if (row) opened(a, row);
    });
  }
}
