-- The importer's state. Never edit an applied migration: add a new file.
-- Give the importer a database of its own (or a schema, via search_path): its migration history
-- must not mix with the Timesheets service's.

-- One row per source: how far its change feed has been imported.
create table checkpoint (
    source text not null,
    -- the source's own modification time up to which everything is imported; null for
    -- sources without a change feed (files), which rely on the digests below
    watermark timestamptz,
    updated_at timestamptz not null,
    constraint checkpoint_pkey primary key (source)
);

-- What was last sent for each source entry, so an unchanged row is never sent again.
create table synced_entry (
    source text not null,
    external_id text not null,
    -- the entry's id in the API; null while the API has never accepted the entry
    entry_id uuid,
    -- sha-256 (hex) of the canonical form of the content last sent
    digest text not null,
    -- the entry's date, to find what a reconcile window covers
    work_date date not null,
    status text not null,
    updated_at timestamptz not null,
    constraint synced_entry_pkey primary key (source, external_id),
    constraint synced_entry_status_check check (status in ('imported', 'rejected'))
);

-- Finished runs, for `importer-svc status`.
create table run (
    run_id uuid not null,
    source text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    outcome text not null,
    -- the run report
    summary jsonb not null,
    constraint run_pkey primary key (run_id)
);

create index run_started_at_idx on run (started_at desc);

-- Who holds the run lock (the lock itself is a session advisory lock): one row, overwritten by
-- each run that takes the lock, read by a run that is refused.
create table run_lock (
    lock_key bigint not null,
    pid integer not null,
    host text not null,
    since timestamptz not null,
    constraint run_lock_pkey primary key (lock_key)
);
