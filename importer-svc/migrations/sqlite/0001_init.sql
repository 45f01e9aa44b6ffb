-- The importer's state. Never edit an applied migration: add a new file.
-- Types: UUIDs are lowercase hyphenated text, dates are 'YYYY-MM-DD' text, instants are integer
-- microseconds since the Unix epoch (UTC) so that they compare and sort exactly.

-- One row per source: how far its change feed has been imported.
create table checkpoint (
    source text not null,
    -- the source's own modification time up to which everything is imported; null for
    -- sources without a change feed (files), which rely on the digests below
    watermark integer,
    updated_at integer not null,
    constraint checkpoint_pkey primary key (source)
) strict;

-- What was last sent for each source entry, so an unchanged row is never sent again.
create table synced_entry (
    source text not null,
    external_id text not null,
    -- the entry's id in the API; null while the API has never accepted the entry
    entry_id text,
    -- sha-256 (hex) of the canonical form of the content last sent
    digest text not null,
    -- the entry's date, to find what a reconcile window covers
    work_date text not null,
    status text not null,
    updated_at integer not null,
    constraint synced_entry_pkey primary key (source, external_id),
    constraint synced_entry_status_check check (status in ('imported', 'rejected'))
) strict;

-- Finished runs, for `importer-svc status`.
create table run (
    run_id text not null,
    source text not null,
    started_at integer not null,
    finished_at integer not null,
    outcome text not null,
    -- the run report as JSON
    summary text not null,
    constraint run_pkey primary key (run_id)
) strict;

create index run_started_at_idx on run (started_at desc);
