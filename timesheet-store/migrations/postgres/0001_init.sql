-- The timesheet schema. Never edit an applied migration: add a new file.
-- Every table leads with tenant_id, and every query filters on it.

-- Workers as the source systems name them.
create table worker (
    worker_id uuid not null,
    tenant_id text not null,
    -- the id a source system gives the worker: uploads upsert workers by it
    external_id text not null,
    kind text not null,
    name text,
    email text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint worker_pkey primary key (worker_id),
    constraint worker_tenant_external_id_key unique (tenant_id, external_id),
    -- the target of the (tenant_id, worker_id) foreign keys, so no row can name another
    -- tenant's worker
    constraint worker_tenant_worker_key unique (tenant_id, worker_id),
    constraint worker_kind_check check (kind in ('employee', 'contractor'))
);

-- Project codes seen in entries, kept so that they can be listed and, later, described.
create table project (
    tenant_id text not null,
    code text not null,
    created_at timestamptz not null,
    constraint project_pkey primary key (tenant_id, code)
);

create table time_entry (
    entry_id uuid not null,
    tenant_id text not null,
    worker_id uuid not null,
    -- a calendar date in the worker's own time zone, not an instant
    work_date date not null,
    project_code text not null,
    minutes int not null,
    notes text not null,
    billable boolean not null,
    -- the system the entry came from ('api' for entries created one at a time)
    source text not null,
    -- the source system's id; null for entries created without one (null ids may repeat)
    external_id text,
    -- follows the status of the entry's week
    status text not null,
    -- starts at 1, grows by one with every change; the etag is derived from it
    version bigint not null,
    created_at timestamptz not null,
    created_by text not null,
    updated_at timestamptz not null,
    updated_by text not null,
    -- set on delete: the row stays as a tombstone so that syncs see the deletion
    deleted_at timestamptz,
    constraint time_entry_pkey primary key (entry_id),
    constraint time_entry_source_external_id_key unique (tenant_id, source, external_id),
    constraint time_entry_worker_fkey foreign key (tenant_id, worker_id)
        references worker (tenant_id, worker_id),
    constraint time_entry_minutes_check check (minutes between 1 and 1440),
    constraint time_entry_status_check
        check (status in ('open', 'submitted', 'approved', 'rejected'))
);

-- day totals and week recounts
create index time_entry_worker_date_idx on time_entry (tenant_id, worker_id, work_date);
-- lists with updated_since, in keyset order
create index time_entry_updated_idx on time_entry (tenant_id, updated_at, entry_id);
-- plain lists, in keyset order
create index time_entry_tenant_entry_idx on time_entry (tenant_id, entry_id);

-- A worker's week once it has left 'open'; a week without a row is open.
create table week (
    tenant_id text not null,
    worker_id uuid not null,
    -- ISO 8601 week, '2026-W48'
    iso_week text not null,
    status text not null,
    -- count and minutes of the week's live entries, as of the last status change
    entries int not null,
    minutes int not null,
    submitted_at timestamptz,
    submitted_by text,
    decided_at timestamptz,
    decided_by text,
    -- why a week was rejected
    reason text,
    constraint week_pkey primary key (tenant_id, worker_id, iso_week),
    constraint week_worker_fkey foreign key (tenant_id, worker_id)
        references worker (tenant_id, worker_id),
    constraint week_status_check check (status in ('open', 'submitted', 'approved', 'rejected'))
);

-- the approvals queue
create index week_status_idx on week (tenant_id, status, submitted_at);

-- Idempotency keys: a marker while the request runs, then the response to replay.
create table idempotency_key (
    tenant_id text not null,
    -- who sent the key: keys are scoped per caller, not only per tenant
    subject text not null,
    idem_key text not null,
    -- digest of the request, to refuse a key reused for a different request
    request_hash bytea not null,
    state text not null,
    response_status int,
    -- JSON array of [name, value] pairs
    response_headers text,
    response_body bytea,
    -- when the current owner claimed the key; an old in-flight marker may be taken over
    created_at timestamptz not null,
    completed_at timestamptz,
    constraint idempotency_key_pkey primary key (tenant_id, subject, idem_key),
    constraint idempotency_key_state_check check (state in ('in_flight', 'completed'))
);
