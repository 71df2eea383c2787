// A running engine and folder watcher over a temporary folder, with the watcher's events collected.
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Destination, DestinationInput, WatchedFolder, WatchedFolderInput } from '../../shared/types.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { FolderWatcher, type FolderWatcherOptions } from '../../src-main/engine/folders/folder-watcher.js';
import type { FileActivity, SkippedFile } from '../../src-main/engine/folders/ingest.js';
import { testEngine, until } from './engine.js';

export interface WatchRig {
  engine: Engine;
  dest: Destination;
  watcher: FolderWatcher;
  folder: WatchedFolder;
  skipped: SkippedFile[];
  activity: FileActivity[];
  stop(): Promise<void>;
}

/** Engine + watcher on `watched`, both started; `stop()` closes both (what Ctrl-C does). */
export async function startWatching(
  dbDir: string,
  watched: string,
  s3: { endpoint: string; bucket: string } & Partial<DestinationInput>,
  folder: Partial<WatchedFolderInput> = {},
  opts: FolderWatcherOptions = {},
): Promise<WatchRig> {
  const { engine, dest } = testEngine(dbDir, s3);
  engine.start();
  const watcher = new FolderWatcher(engine, opts);
  const skipped: SkippedFile[] = [];
  const activity: FileActivity[] = [];
  watcher.on('skipped', (s) => skipped.push(s));
  watcher.on('file', (a) => activity.push(a));
  const existing = watcher.listFolders().find((f) => f.path === path.resolve(watched));
  await watcher.start();
  const added = existing ?? (await watcher.addFolder({ path: watched, destinationId: dest.id, stableMs: 300, ...folder }));
  return {
    engine,
    dest,
    watcher,
    folder: added,
    skipped,
    activity,
    async stop() {
      await watcher.stop();
      await engine.close();
    },
  };
}

/** Every key in the bucket (all pages). */
export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Waits until the watcher has nothing left to decide and every job it made has settled. */
export async function untilQuiet(rig: WatchRig, what: string, timeoutMs = 120_000): Promise<void> {
  await until(
    what,
    () => rig.watcher.idle && rig.engine.listJobs({ states: ['queued', 'running', 'completing'] }).length === 0,
    timeoutMs,
  );
}

export function writeText(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}
