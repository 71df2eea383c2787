// Screens whose data changes without an event (ASC MHL writes, webhook deliveries happen in the
// owed-work runner) reload on a timer while they are shown, and at once when a job changes.
import type { HoistApi } from '../../shared/contract.js';

export const RECORDS_POLL_MS = 2000;

/** Calls `reload` every `everyMs` and after each job change (at most once per tick); returns the cleanup. */
export function pollWhileShown(api: HoistApi, reload: () => void, everyMs = RECORDS_POLL_MS): () => void {
  let dirty = false;
  const timer = setInterval(() => {
    dirty = false;
    reload();
  }, everyMs);
  const unsubscribe = api.onJobChanged(() => {
    if (dirty) return;
    dirty = true;
    setTimeout(() => {
      if (!dirty) return;
      dirty = false;
      reload();
    }, 250);
  });
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
