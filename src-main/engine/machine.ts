// Which machine this process runs on, for a shared queue (issue 15, docs/architecture.md "The
// cluster"): the name its watched folders' local paths and its hand-added jobs are recorded under.
// It must survive restarts (a job of a folder only this machine sees waits for it to come back):
// the hostname, unless HOIST_NODE_NAME names it (two stations cloned from one image, a renamed Mac).
import os from 'node:os';

export function machineName(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.HOIST_NODE_NAME?.trim();
  return named ? named : os.hostname();
}
