# shellcheck shell=bash
# The COPY baseline of bench/ingest and bench/import, sourced by both: the rows a benchmark
# stored in time_entry, copied back with psql `\copy` into `scratch`, a table with time_entry's
# whole definition (columns, defaults, checks, primary key, unique key and indexes by
# LIKE ... INCLUDING ALL, plus its foreign keys if it has any, which LIKE does not copy). COPY
# then pays for the rows exactly what any write path that stores them in this schema must pay,
# and nothing else. `scratch_bare`, the same columns without any index or key, is timed for
# reference: what PostgreSQL takes when it has no index to maintain.
#
# Needs: psql on PATH; the caller's `die`.

# copy_baseline_prepare DB_URL TENANT WORK_DIR: creates both tables and writes
# WORK_DIR/stored.csv, TENANT's stored entries in the order they were written (entry ids are
# UUID v7, in creation order); sets COPY_COLUMNS and COPY_ROWS.
copy_baseline_prepare() {
    local db_url="$1" tenant="$2" work="$3"
    COPY_DB_URL="$db_url"
    COPY_CSV="$work/stored.csv"
    COPY_COLUMNS="entry_id,tenant_id,worker_id,work_date,project_code,minutes,notes,billable,source,external_id,status,version,created_at,created_by,updated_at,updated_by,deleted_at"
    _copy_psql -c "create table scratch (like time_entry including all)" \
        -c "do \$\$ declare c record; begin
                for c in select pg_get_constraintdef(oid) as def from pg_constraint
                         where conrelid = 'time_entry'::regclass and contype = 'f' loop
                    execute 'alter table scratch add ' || c.def;
                end loop;
            end \$\$" \
        -c "create table scratch_bare (like time_entry including defaults)" \
        || die "cannot create the scratch tables"
    [[ "$tenant" =~ ^[a-z0-9_-]+$ ]] || die "unexpected tenant id: $tenant"
    _copy_psql -c "\\copy (select $COPY_COLUMNS from time_entry where tenant_id = '$tenant' order by entry_id) to '$COPY_CSV' with (format csv, header true)" \
        || die "cannot export the stored rows"
    COPY_ROWS="$(($(wc -l <"$COPY_CSV") - 1))"
}

# copy_baseline_seconds TABLE ROUNDS: prints the median seconds of ROUNDS `\copy` runs of
# stored.csv into TABLE, each into the emptied table right after a checkpoint (so that no run
# inherits another's dirty buffers); checks every run loaded every row.
copy_baseline_seconds() {
    local table="$1" rounds="$2" runs=() t0 t1 n
    for _ in $(seq 1 "$rounds"); do
        _copy_psql -c "truncate $table" -c checkpoint || die "cannot empty $table"
        t0="$(date +%s.%N)"
        _copy_psql -c "\\copy $table($COPY_COLUMNS) from '$COPY_CSV' with (format csv, header true)" \
            || die "COPY into $table failed"
        t1="$(date +%s.%N)"
        n="$(_copy_psql -At -c "select count(*) from $table")"
        [[ "$n" == "$COPY_ROWS" ]] || die "$table holds $n rows after COPY, expected $COPY_ROWS"
        runs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    done
    printf '%s\n' "${runs[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

_copy_psql() { timeout 300 psql "$COPY_DB_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
