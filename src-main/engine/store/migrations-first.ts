// The first eight schema migrations (issues 1-8), as shipped: migrations.ts lists them before the
// later ones (split off only to keep each file readable). Never edit a shipped migration.
export const FIRST_MIGRATIONS: readonly string[] = [
  /* 1: destinations, jobs, parts, history, pending remote aborts, the runner lease */ `
  CREATE TABLE destinations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    endpoint TEXT,
    region TEXT NOT NULL,
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL DEFAULT '',
    path_style INTEGER NOT NULL DEFAULT 0,
    profile TEXT,
    storage_class TEXT,
    sse TEXT,
    sse_kms_key_id TEXT,
    part_size INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    single_put_threshold INTEGER NOT NULL,
    max_object_size INTEGER NOT NULL,
    max_parts INTEGER NOT NULL DEFAULT 10000,
    checksum_algorithm TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    source_path TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    inode TEXT NOT NULL,
    content_type TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('single', 'multipart')),
    part_size INTEGER NOT NULL,
    part_count INTEGER NOT NULL,
    checksum_algorithm TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued','running','completing','paused','failed','done','cancelled')),
    priority INTEGER NOT NULL DEFAULT 1,
    upload_id TEXT,
    create_started_at INTEGER,
    etag TEXT,
    checksum TEXT,
    error_code TEXT,
    error_message TEXT,
    error_operation TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    restarts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX jobs_by_state ON jobs(state, priority, id);
  CREATE INDEX jobs_by_upload ON jobs(upload_id) WHERE upload_id IS NOT NULL;
  CREATE TABLE parts (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','sending','done')),
    etag TEXT,
    md5_hex TEXT,
    checksum TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sends INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, part_number)
  ) WITHOUT ROWID;
  CREATE INDEX parts_by_state ON parts(job_id, state, part_number);
  CREATE TABLE job_events (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    operation TEXT,
    message TEXT NOT NULL
  );
  CREATE INDEX job_events_by_job ON job_events(job_id, id);
  CREATE TABLE remote_aborts (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    upload_id TEXT NOT NULL UNIQUE,
    job_id INTEGER,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    available_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE runner_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  /* 2: watched folders, what each watched file last became (issue 3), and growing-file jobs */ `
  CREATE TABLE watched_folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    prefix TEXT NOT NULL DEFAULT '',
    include_globs TEXT NOT NULL DEFAULT '[]',
    exclude_globs TEXT NOT NULL DEFAULT '[]',
    single_put_threshold INTEGER,
    growing INTEGER NOT NULL DEFAULT 0,
    stable_ms INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    UNIQUE (path, destination_id)
  );
  CREATE TABLE watched_files (
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    inode TEXT NOT NULL,
    how TEXT NOT NULL CHECK (how IN ('upload', 'growing', 'copy', 'adopted')),
    job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    etag TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (folder_id, rel_path)
  ) WITHOUT ROWID;
  CREATE INDEX watched_files_by_key ON watched_files(key);
  CREATE INDEX watched_files_by_snapshot ON watched_files(size, mtime_ms);
  CREATE INDEX watched_files_by_job ON watched_files(job_id) WHERE job_id IS NOT NULL;
  -- 0: an ordinary job; 1: its file is still growing (parts are appended); 2: grown, its parts are verified before Complete.
  ALTER TABLE jobs ADD COLUMN growing INTEGER NOT NULL DEFAULT 0;
  `,
  /* 3: whole-file hashes per job, ASC MHL batches and where each job's file sits under its root (issue 8) */ `
  CREATE TABLE mhl_batches (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    root TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    folder_id INTEGER,
    state TEXT NOT NULL CHECK (state IN ('open', 'sealed', 'written', 'failed')),
    generation INTEGER,
    manifest_key TEXT,
    error_code TEXT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    sealed_at INTEGER,
    written_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX mhl_batches_by_state ON mhl_batches(state, id);
  -- JSON array of the algorithms asked for, JSON object of the values once computed.
  ALTER TABLE jobs ADD COLUMN hash_algorithms TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE jobs ADD COLUMN hashes TEXT;
  -- The local folder whose ASC MHL history describes the file, and the file's path under it.
  ALTER TABLE jobs ADD COLUMN mhl_root TEXT;
  ALTER TABLE jobs ADD COLUMN mhl_path TEXT;
  -- JSON {manifest, algorithms}: the source history entry that vouched for the hashes.
  ALTER TABLE jobs ADD COLUMN verified_by TEXT;
  ALTER TABLE jobs ADD COLUMN batch_id INTEGER REFERENCES mhl_batches(id);
  -- The generation of the root's history in the bucket that lists this job's file.
  ALTER TABLE jobs ADD COLUMN mhl_generation INTEGER;
  CREATE INDEX jobs_by_batch ON jobs(batch_id) WHERE batch_id IS NOT NULL;
  ALTER TABLE watched_folders ADD COLUMN hash_algorithms TEXT NOT NULL DEFAULT '["xxh64"]';
  ALTER TABLE watched_folders ADD COLUMN mhl INTEGER NOT NULL DEFAULT 0;
  `,
  /* 4: several destinations per watched folder, clean-up after verified delivery, folder priority,
        where each destination's credentials live (issue 8) */ `
  CREATE TABLE folder_destinations (
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (folder_id, destination_id)
  ) WITHOUT ROWID;
  CREATE INDEX folder_destinations_by_destination ON folder_destinations(destination_id);
  -- Every existing folder keeps its one destination; watched_folders.destination_id stays the first.
  INSERT INTO folder_destinations (folder_id, destination_id, position) SELECT id, destination_id, 0 FROM watched_folders;
  ALTER TABLE watched_folders ADD COLUMN after_delivery TEXT NOT NULL DEFAULT 'keep' CHECK (after_delivery IN ('keep', 'delete', 'move'));
  ALTER TABLE watched_folders ADD COLUMN move_to TEXT;
  ALTER TABLE watched_folders ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
  -- What each file became is now kept per destination: the same file has one record (and job) per destination.
  CREATE TABLE watched_files_v3 (
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    destination_id INTEGER NOT NULL REFERENCES destinations(id),
    rel_path TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    inode TEXT NOT NULL,
    how TEXT NOT NULL CHECK (how IN ('upload', 'growing', 'copy', 'adopted')),
    job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
    etag TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (folder_id, destination_id, rel_path)
  ) WITHOUT ROWID;
  INSERT INTO watched_files_v3 (folder_id, destination_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
    SELECT wf.folder_id, f.destination_id, wf.rel_path, wf.key, wf.size, wf.mtime_ms, wf.inode, wf.how, wf.job_id, wf.etag, wf.updated_at
    FROM watched_files wf JOIN watched_folders f ON f.id = wf.folder_id;
  DROP TABLE watched_files;
  ALTER TABLE watched_files_v3 RENAME TO watched_files;
  CREATE INDEX watched_files_by_key ON watched_files(destination_id, key);
  CREATE INDEX watched_files_by_snapshot ON watched_files(destination_id, size, mtime_ms);
  CREATE INDEX watched_files_by_job ON watched_files(job_id) WHERE job_id IS NOT NULL;
  -- A delete or move of a delivered source that is owed: retried with back-off until it succeeds.
  CREATE TABLE source_cleanups (
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    inode TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    available_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (folder_id, rel_path)
  ) WITHOUT ROWID;
  -- chain: the destination's profile or the standard AWS chain; saved: sealed by the desktop app.
  ALTER TABLE destinations ADD COLUMN credentials TEXT NOT NULL DEFAULT 'chain' CHECK (credentials IN ('chain', 'saved'));
  `,
  /* 5: webhooks per watched folder, the persistent outbox their events are delivered from, and the batches they report (issue 8) */ `
  ALTER TABLE watched_folders ADD COLUMN webhook_url TEXT;
  CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    given_up_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox(available_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;
  -- How far the job history has been turned into webhook events: events from before this migration are never sent.
  CREATE TABLE webhook_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
  );
  INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM job_events;
  -- The jobs a folder settled since it was last idle: reported together as batch.done when it goes idle.
  CREATE TABLE webhook_batches (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER
  );
  CREATE UNIQUE INDEX webhook_batches_open ON webhook_batches(folder_id) WHERE closed_at IS NULL;
  CREATE TABLE webhook_batch_jobs (
    batch_id INTEGER NOT NULL REFERENCES webhook_batches(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (batch_id, job_id)
  ) WITHOUT ROWID;
  `,
  /* 6: scale and pacing (issue 6): done counters per job kept by triggers, lookups by key and by sending
     parts, bandwidth limits (global and per destination, with a schedule), concurrency bounds for tuning */ `
  ALTER TABLE jobs ADD COLUMN parts_done INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN bytes_done INTEGER NOT NULL DEFAULT 0;
  UPDATE jobs SET
    parts_done = (SELECT count(*) FROM parts p WHERE p.job_id = jobs.id AND p.state = 'done'),
    bytes_done = (SELECT coalesce(sum(p.length), 0) FROM parts p WHERE p.job_id = jobs.id AND p.state = 'done');
  -- Every path that changes a part's state keeps the counters right, whichever code runs it.
  CREATE TRIGGER parts_done_on_insert AFTER INSERT ON parts WHEN NEW.state = 'done' BEGIN
    UPDATE jobs SET parts_done = parts_done + 1, bytes_done = bytes_done + NEW.length WHERE id = NEW.job_id;
  END;
  CREATE TRIGGER parts_done_on_delete AFTER DELETE ON parts WHEN OLD.state = 'done' BEGIN
    UPDATE jobs SET parts_done = parts_done - 1, bytes_done = bytes_done - OLD.length WHERE id = OLD.job_id;
  END;
  CREATE TRIGGER parts_done_on_update AFTER UPDATE OF state, length ON parts WHEN OLD.state = 'done' OR NEW.state = 'done' BEGIN
    UPDATE jobs SET
      parts_done = parts_done + (NEW.state = 'done') - (OLD.state = 'done'),
      bytes_done = bytes_done + (CASE WHEN NEW.state = 'done' THEN NEW.length ELSE 0 END) - (CASE WHEN OLD.state = 'done' THEN OLD.length ELSE 0 END)
    WHERE id = NEW.job_id;
  END;
  CREATE INDEX jobs_by_key ON jobs(destination_id, key);
  -- Pages of the jobs table without sorting it: by size, progress and creation (by id is the rowid); the
  -- first also answers totals() from the index alone. Each index ends in the rowid, which breaks ties as
  -- the queries do. Fewer than one per sort and state: each index on state is rewritten at every transition.
  CREATE INDEX jobs_by_state_size_done ON jobs(state, size, bytes_done);
  CREATE INDEX jobs_by_size ON jobs(size);
  CREATE INDEX jobs_by_created ON jobs(created_at);
  CREATE INDEX jobs_by_progress ON jobs((CASE WHEN state = 'done' THEN 1.0 ELSE bytes_done * 1.0 / max(size, 1) END));
  CREATE INDEX parts_sending ON parts(job_id) WHERE state = 'sending';
  CREATE TABLE bandwidth_limits (
    -- NULL: the global limit, shared by every destination.
    destination_id INTEGER UNIQUE REFERENCES destinations(id) ON DELETE CASCADE,
    -- NULL: unlimited outside the schedule's windows.
    bytes_per_second INTEGER CHECK (bytes_per_second IS NULL OR bytes_per_second > 0),
    -- JSON [{"from":"20:00","to":"06:00","bytesPerSecond":null}], local time.
    schedule TEXT NOT NULL DEFAULT '[]',
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX bandwidth_limits_one_global ON bandwidth_limits(coalesce(destination_id, 0));
  CREATE TABLE concurrency_bounds (
    destination_id INTEGER PRIMARY KEY REFERENCES destinations(id) ON DELETE CASCADE,
    min_concurrency INTEGER NOT NULL CHECK (min_concurrency >= 1),
    max_concurrency INTEGER NOT NULL CHECK (max_concurrency >= min_concurrency),
    updated_at INTEGER NOT NULL
  );
  `,
  /* 7: lookups that scanned: a file's records across its folder's destinations (the key starts with
        the destination, so a restart read the whole folder once per file), and pages of one state in
        each sort order the queue offers (the filter chips) */ `
  CREATE INDEX watched_files_by_path ON watched_files(folder_id, rel_path);
  -- (state, rowid): pages of one state by id, and every state sorted by state then id.
  CREATE INDEX jobs_by_state_only ON jobs(state);
  CREATE INDEX jobs_by_state_size ON jobs(state, size);
  CREATE INDEX jobs_by_state_created ON jobs(state, created_at);
  CREATE INDEX jobs_by_state_progress ON jobs(state, (CASE WHEN state = 'done' THEN 1.0 ELSE bytes_done * 1.0 / max(size, 1) END));
  `,
  /* 8: how far a job's whole-file hash pass got, so a pass cut by a pause, a quit or a crash goes on
        from there: valid only for the snapshot (size, mtime, inode) and hashes it was taken with */ `
  CREATE TABLE hash_checkpoints (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    inode TEXT NOT NULL,
    -- 'xxh64,xxh128': the pass's hashes, in canonical order.
    algorithms TEXT NOT NULL,
    offset INTEGER NOT NULL CHECK (offset > 0 AND offset < size),
    -- JSON {"xxh64":"<base64 state>"}
    states TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
];
