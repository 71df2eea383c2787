// Forward-only schema migrations, applied in order and recorded in PRAGMA user_version.
// Never edit a shipped migration: add the next one.
import { FIRST_MIGRATIONS } from './migrations-first.js';

export const MIGRATIONS: readonly string[] = [
  // 1-8
  ...FIRST_MIGRATIONS,
  /* 9: one owed-work queue in place of four (issue 11): remote aborts, clean-ups after delivery, webhook
        events and ASC MHL generation writes were each a table with its own attempts, back-off and drain
        loop. Everything still owed moves here with its attempts, next attempt and last error. */ `
  CREATE TABLE owed_work (
    id INTEGER PRIMARY KEY,
    -- 'remote-abort', 'source-cleanup', 'webhook', 'mhl-write': the handler that pays it.
    kind TEXT NOT NULL,
    -- What it is about, one owed item per kind and subject: an upload id, 'folderId:relPath', an event id, a batch id.
    subject TEXT NOT NULL,
    -- What it belongs to ('destination:3', 'folder:2', a webhook URL): a kind works only some scopes, or one item per scope at a time, in order.
    scope TEXT,
    -- JSON: everything the handler needs.
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'owed' CHECK (state IN ('owed', 'done', 'given-up')),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- Who is working it and until when (a claim; a second runner, e.g. on PostgreSQL, skips it meanwhile).
    locked_by TEXT,
    locked_until INTEGER,
    created_at INTEGER NOT NULL,
    settled_at INTEGER
  );
  CREATE UNIQUE INDEX owed_work_subject ON owed_work(kind, subject) WHERE state = 'owed';
  CREATE INDEX owed_work_due ON owed_work(kind, available_at) WHERE state = 'owed';
  CREATE INDEX owed_work_scope ON owed_work(kind, scope, id) WHERE state = 'owed';
  INSERT INTO owed_work (kind, subject, scope, payload, attempts, available_at, last_error, created_at)
    SELECT 'remote-abort', upload_id, 'destination:' || destination_id,
           json_object('destinationId', destination_id, 'bucket', bucket, 'key', key, 'uploadId', upload_id, 'jobId', job_id, 'reason', reason),
           attempts, available_at, last_error, created_at
    FROM remote_aborts ORDER BY id;
  DROP TABLE remote_aborts;
  INSERT INTO owed_work (kind, subject, scope, payload, attempts, available_at, last_error, created_at)
    SELECT 'source-cleanup', folder_id || ':' || rel_path, 'folder:' || folder_id,
           json_object('folderId', folder_id, 'relPath', rel_path, 'size', size, 'mtimeMs', mtime_ms, 'inode', inode),
           attempts, available_at, last_error, created_at
    FROM source_cleanups ORDER BY created_at, folder_id, rel_path;
  DROP TABLE source_cleanups;
  -- Delivered and given-up events move too: \`hoist webhooks\` lists them.
  INSERT INTO owed_work (kind, subject, scope, payload, state, attempts, available_at, last_error, created_at, settled_at)
    SELECT 'webhook', id, url, json_object('url', url, 'event', kind, 'body', payload),
           CASE WHEN delivered_at IS NOT NULL THEN 'done' WHEN given_up_at IS NOT NULL THEN 'given-up' ELSE 'owed' END,
           attempts, available_at, last_error, created_at, coalesce(delivered_at, given_up_at)
    FROM webhook_outbox ORDER BY rowid;
  DROP TABLE webhook_outbox;
  -- A sealed batch's generation is owed; mhl_batches stays the record of batches, without retry bookkeeping.
  INSERT INTO owed_work (kind, subject, scope, payload, attempts, available_at, last_error, created_at)
    SELECT 'mhl-write', id, 'destination:' || destination_id, json_object('batchId', id),
           attempts, available_at, CASE WHEN error_code IS NOT NULL THEN error_code || ': ' || coalesce(error_message, '') END, coalesce(sealed_at, created_at)
    FROM mhl_batches WHERE state = 'sealed' ORDER BY id;
  ALTER TABLE mhl_batches DROP COLUMN attempts;
  ALTER TABLE mhl_batches DROP COLUMN available_at;
  -- A removed folder owes no clean-up any more (source_cleanups went with it by foreign key).
  CREATE TRIGGER owed_cleanups_of_removed_folder AFTER DELETE ON watched_folders BEGIN
    DELETE FROM owed_work WHERE kind = 'source-cleanup' AND scope = 'folder:' || OLD.id;
  END;
  `,
  // evidence: the object version a job wrote (versioned buckets), and the flag a done job gets when its
  // object was found deleted or overwritten before its source was freed (issue 13, items 3 and 7).
  /* 10 */ `
  ALTER TABLE jobs ADD COLUMN version_id TEXT;
  ALTER TABLE jobs ADD COLUMN flag_code TEXT;
  ALTER TABLE jobs ADD COLUMN flag_message TEXT;
  `,
  // sse: what encryption the server's answers named, and how a finished job's bytes were proven (issue 13, item 1):
  // under SSE-KMS, DSSE-KMS and SSE-C an ETag is not an MD5, so Content-MD5 is the proof and the job says so.
  /* 11 */ `
  ALTER TABLE jobs ADD COLUMN server_sse TEXT;
  ALTER TABLE jobs ADD COLUMN etag_verified INTEGER;
  ALTER TABLE jobs ADD COLUMN integrity TEXT;
  `,
  // sendnow: what "Send files now" last used per destination (issue 14), so the sheet starts from it.
  /* 12: the send sheet's remembered settings per destination: prefix, priority, hashes, ASC MHL */ `
  CREATE TABLE send_defaults (
    destination_id INTEGER PRIMARY KEY REFERENCES destinations(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('high', 'normal', 'low')),
    -- 'xxh64,md5': the whole-file hashes, in canonical order; '' for none.
    hashes TEXT NOT NULL,
    mhl INTEGER NOT NULL CHECK (mhl IN (0, 1)),
    used_at INTEGER NOT NULL
  );
  `,
  // gaps: a watched folder's webhook signing secret (issue 13 item 9e), sealed: AES-256-GCM under the
  // key file beside the database (notify/webhook-secrets.ts), never the secret itself.
  /* 13 */ `
  ALTER TABLE watched_folders ADD COLUMN webhook_secret TEXT;
  `,
  // ifexists: one writer per key and no object replaced by surprise (issue 13, item 4).
  /* 14: what a job does when its key already holds an object (per destination, folder and upload),
         what it saw there when it decided (the ETag it may replace, '' for an empty key, NULL before
         it decided) and what it did in the end */ `
  ALTER TABLE destinations ADD COLUMN if_exists TEXT NOT NULL DEFAULT 'skip-identical';
  ALTER TABLE watched_folders ADD COLUMN if_exists TEXT;
  ALTER TABLE jobs ADD COLUMN if_exists TEXT NOT NULL DEFAULT 'skip-identical';
  ALTER TABLE jobs ADD COLUMN key_seen TEXT;
  ALTER TABLE jobs ADD COLUMN outcome TEXT;
  `,
  // firstrun: the send sheet's if-exists choice (issue 14).
  /* 15: the send sheet's --if-exists choice, remembered per destination with its other settings (NULL: the destination's policy) */ `
  ALTER TABLE send_defaults ADD COLUMN if_exists TEXT;
  `,
  // queue: clear finished and search (issue 14).
  /* 16: the queue at scale (issue 14). "Clear finished" takes done and cancelled jobs off the list
         (cleared_at) and keeps their rows: ASC MHL batches, source clean-up and skip-identical (the
         part sizes used at a key) rely on them. Search by file name: a trigram index over each job's
         key and source path, kept by triggers, answers a case-insensitive substring without a scan. */ `
  ALTER TABLE jobs ADD COLUMN cleared_at INTEGER;
  -- Counts by state and totals of the list (cleared rows left out) from the index alone.
  CREATE INDEX jobs_by_state_cleared ON jobs(state, cleared_at);
  CREATE VIRTUAL TABLE job_search USING fts5(text, tokenize = 'trigram');
  INSERT INTO job_search (rowid, text) SELECT id, key || char(10) || source_path FROM jobs;
  CREATE TRIGGER job_search_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_search (rowid, text) VALUES (NEW.id, NEW.key || char(10) || NEW.source_path);
  END;
  CREATE TRIGGER job_search_update AFTER UPDATE OF key, source_path ON jobs BEGIN
    UPDATE job_search SET text = NEW.key || char(10) || NEW.source_path WHERE rowid = NEW.id;
  END;
  CREATE TRIGGER job_search_delete AFTER DELETE ON jobs BEGIN
    DELETE FROM job_search WHERE rowid = OLD.id;
  END;
  `,
  // integrity: the integrity model (issue 12).
  /* 17: the integrity model (issue 12, docs/integrity.md): a destination's mode (a checksum it was
         set to send becomes its named mode, so nothing it sends changes on a server that verifies
         none), what the probe found at which endpoint, and per job the mode it was made with, whether
         its parts carry Content-MD5, the checksum type its object is completed with, the whole file's
         checksum the server returned, and the strongest proof it got. Jobs made before keep MD5. */ `
  ALTER TABLE destinations ADD COLUMN integrity TEXT NOT NULL DEFAULT 'auto';
  UPDATE destinations SET integrity = checksum_algorithm WHERE checksum_algorithm IS NOT NULL;
  ALTER TABLE destinations ADD COLUMN checksum_probe INTEGER;
  ALTER TABLE destinations ADD COLUMN checksum_probe_endpoint TEXT;
  ALTER TABLE destinations ADD COLUMN checksum_probe_at INTEGER;
  ALTER TABLE jobs ADD COLUMN integrity_mode TEXT NOT NULL DEFAULT 'md5';
  ALTER TABLE jobs ADD COLUMN content_md5 INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE jobs ADD COLUMN checksum_type TEXT;
  ALTER TABLE jobs ADD COLUMN full_checksum TEXT;
  ALTER TABLE jobs ADD COLUMN proof TEXT;
  `,
  // controls: the app's global settings (issue 14): default destination, notifications, start at login, log level.
  /* 18: one row per setting, its value as JSON (engine/store/settings-store.ts reads them over the defaults) */ `
  CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  /* 19: the shared queue (issue 15, docs/architecture.md "The cluster"): the processes working one
         queue (nodes: registered at start, heartbeat while working), and per job the node whose lease
         holds it while it runs (lease_owner, lease_until); an expired lease is taken over. */ `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    state TEXT NOT NULL
  );
  ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
  ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
  CREATE INDEX jobs_by_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
  `,
  /* 20: a bandwidth limit is the cluster's (issue 15): each node publishes with its row, once a second,
         what it asks of each limit in force (JSON by scope: bytes per second sent, or "more" when the
         limit held it back), from which every node sets its own share (pacing/cluster-share.ts). */ `
  ALTER TABLE nodes ADD COLUMN demands TEXT;
  ALTER TABLE nodes ADD COLUMN demands_at INTEGER;
  `,
  /* 21: folders pinned to the machines that see them (issue 15, docs/architecture.md "The cluster"):
         where each machine sees a watched folder, and per job the folder and path under it (any
         machine that sees the folder reads the file through its own path) and the machine that made it. */ `
  CREATE TABLE folder_paths (
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    machine TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (folder_id, machine)
  );
  ALTER TABLE jobs ADD COLUMN folder_id INTEGER;
  ALTER TABLE jobs ADD COLUMN folder_rel_path TEXT;
  ALTER TABLE jobs ADD COLUMN machine TEXT;
  `,

  /* 22: fewer indexes a job's state change rewrites (issue 12: every index holding `state` is written
         at each claim and end, about 25 µs CPU each). jobs_by_state_size is a prefix of
         jobs_by_state_size_done, which serves the same pages; jobs_by_state_only served one page, all
         jobs by state, which jobs_by_state_cleared now serves (job-rows.ts queryJobs). Measured at
         100,000 jobs in docs/small-files.md "The state indexes". */ `
  DROP INDEX jobs_by_state_only;
  DROP INDEX jobs_by_state_size;
  `,
];
