use super::*;
use crate::{WorkerKind, WorkerRef};
use time::macros::date;

fn worker_ref(ext: &str) -> WorkerRef {
    WorkerRef {
        external_id: ExternalId::parse(ext).unwrap(),
        kind: WorkerKind::Contractor,
        name: None,
        email: None,
    }
}

fn new_entry(ext: &str, worker: &str, day: &str, minutes: i64) -> NewEntry {
    NewEntry {
        worker: Some(worker_ref(worker)),
        date: WorkDate::parse(day).unwrap(),
        project: ProjectCode::parse("STOREZERO").unwrap(),
        minutes: Minutes::new(minutes).unwrap(),
        notes: Notes::default(),
        billable: true,
        external_id: Some(ExternalId::parse(ext).unwrap()),
    }
}

fn item(index: usize, entry: NewEntry) -> BatchItem {
    BatchItem {
        index,
        external_id: entry.external_id.as_ref().map(ToString::to_string),
        parsed: Ok(entry),
    }
}

struct World {
    ctx: PlanContext,
    ana: WorkerId,
}

fn world() -> World {
    let ana = WorkerId::generate();
    let mut ctx = PlanContext {
        today: Some(date!(2026 - 11 - 28)),
        ..PlanContext::default()
    };
    ctx.workers.insert(ExternalId::parse("ana").unwrap(), ana);
    World { ctx, ana }
}

fn stored(w: &World, ext: &str, day: &str, minutes: i64) -> (ExternalId, ExistingEntry) {
    let e = new_entry(ext, "ana", day, minutes);
    (
        ExternalId::parse(ext).unwrap(),
        ExistingEntry {
            id: EntryId::generate(),
            worker: w.ana,
            date: e.date,
            project: e.project,
            minutes: e.minutes,
            notes: e.notes,
            billable: e.billable,
            status: EntryStatus::Open,
            version: 3,
            deleted: false,
        },
    )
}

fn kinds(plan: &BatchPlan) -> Vec<&'static str> {
    plan.decisions
        .iter()
        .map(|d| match d {
            ItemDecision::Create { .. } => "create",
            ItemDecision::Update { revived: true, .. } => "revive",
            ItemDecision::Update { .. } => "update",
            ItemDecision::Unchanged { .. } => "unchanged",
            ItemDecision::Rejected(r) => r.kind.slug(),
        })
        .collect()
}

#[test]
fn new_items_are_created_in_input_order() {
    let w = world();
    let plan = plan_batch(
        vec![
            item(0, new_entry("a", "ana", "2026-11-23", 60)),
            item(1, new_entry("b", "ana", "2026-11-24", 60)),
        ],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["create", "create"]);
    assert!(plan.has_writes());
}

#[test]
fn the_second_duplicate_external_id_is_rejected() {
    let w = world();
    let plan = plan_batch(
        vec![
            item(0, new_entry("a", "ana", "2026-11-23", 60)),
            item(1, new_entry("a", "ana", "2026-11-24", 30)),
        ],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["create", "duplicate-in-batch"]);
}

#[test]
fn resending_stored_content_is_unchanged_and_writes_nothing() {
    let mut w = world();
    let (k, v) = stored(&w, "a", "2026-11-23", 60);
    let version = v.version;
    w.ctx.existing.insert(k, v);
    w.ctx
        .day_totals
        .insert((w.ana, WorkDate::parse("2026-11-23").unwrap()), 60);
    let plan = plan_batch(
        vec![item(0, new_entry("a", "ana", "2026-11-23", 60))],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["unchanged"]);
    assert!(
        matches!(plan.decisions[0], ItemDecision::Unchanged { version: v, .. } if v == version)
    );
    assert!(!plan.has_writes());
}

#[test]
fn a_changed_item_updates_and_bumps_the_version() {
    let mut w = world();
    let (k, v) = stored(&w, "a", "2026-11-23", 60);
    w.ctx.existing.insert(k, v);
    let plan = plan_batch(
        vec![item(0, new_entry("a", "ana", "2026-11-23", 90))],
        &w.ctx,
    );
    assert!(matches!(
        plan.decisions[0],
        ItemDecision::Update {
            version: 4,
            revived: false,
            ..
        }
    ));
}

#[test]
fn a_day_over_24_hours_is_rejected_counting_stored_and_earlier_items() {
    let mut w = world();
    w.ctx
        .day_totals
        .insert((w.ana, WorkDate::parse("2026-11-23").unwrap()), 1000);
    let plan = plan_batch(
        vec![
            item(0, new_entry("a", "ana", "2026-11-23", 400)),
            item(1, new_entry("b", "ana", "2026-11-23", 41)),
            item(2, new_entry("c", "ana", "2026-11-23", 40)),
        ],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["create", "day-limit-exceeded", "create"]);
}

#[test]
fn moving_an_entry_frees_its_old_day_and_replacing_it_counts_once() {
    let mut w = world();
    let (k, v) = stored(&w, "a", "2026-11-23", 1440);
    w.ctx.existing.insert(k, v);
    w.ctx
        .day_totals
        .insert((w.ana, WorkDate::parse("2026-11-23").unwrap()), 1440);
    let plan = plan_batch(
        vec![
            // Same day, fewer minutes: fits because the stored minutes are released first.
            item(0, new_entry("a", "ana", "2026-11-23", 600)),
            item(1, new_entry("b", "ana", "2026-11-23", 840)),
        ],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["update", "create"]);
}

#[test]
fn approved_weeks_are_locked_for_stored_and_new_entries() {
    let mut w = world();
    let (k, mut v) = stored(&w, "a", "2026-11-16", 60);
    v.status = EntryStatus::Approved;
    w.ctx.existing.insert(k, v);
    w.ctx
        .locked_weeks
        .insert((w.ana, IsoWeek::parse("2026-W47").unwrap()));
    let plan = plan_batch(
        vec![
            item(0, new_entry("a", "ana", "2026-11-16", 90)),
            item(1, new_entry("b", "ana", "2026-11-17", 30)),
            item(2, new_entry("a2", "ana", "2026-11-23", 30)),
        ],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["week-locked", "week-locked", "create"]);
}

#[test]
fn an_unchanged_item_in_an_approved_week_is_not_an_error() {
    let mut w = world();
    let (k, mut v) = stored(&w, "a", "2026-11-16", 60);
    v.status = EntryStatus::Approved;
    w.ctx.existing.insert(k, v);
    w.ctx
        .locked_weeks
        .insert((w.ana, IsoWeek::parse("2026-W47").unwrap()));
    let plan = plan_batch(
        vec![item(0, new_entry("a", "ana", "2026-11-16", 60))],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["unchanged"]);
}

#[test]
fn a_tombstone_sent_again_is_revived() {
    let mut w = world();
    let (k, mut v) = stored(&w, "a", "2026-11-23", 60);
    v.deleted = true;
    w.ctx.existing.insert(k, v);
    let plan = plan_batch(
        vec![item(0, new_entry("a", "ana", "2026-11-23", 60))],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["revive"]);
}

#[test]
fn dates_outside_the_window_are_rejected_naming_the_date() {
    let w = world();
    let plan = plan_batch(
        vec![item(0, new_entry("a", "ana", "2030-01-01", 60))],
        &w.ctx,
    );
    match &plan.decisions[0] {
        ItemDecision::Rejected(r) => {
            assert_eq!(r.kind, ProblemType::ValidationError);
            assert_eq!(r.field.as_deref(), Some("date"));
            assert_eq!(r.to_problem(4).errors[0].pointer, "/entries/4/date");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn parse_failures_stay_rejected_in_place() {
    let w = world();
    let bad = BatchItem {
        index: 0,
        external_id: None,
        parsed: Err(Rejection::new(
            ProblemType::ValidationError,
            "bad",
            Some("minutes"),
        )),
    };
    let plan = plan_batch(
        vec![bad, item(1, new_entry("a", "ana", "2026-11-23", 60))],
        &w.ctx,
    );
    assert_eq!(kinds(&plan), ["validation-error", "create"]);
}

#[test]
fn an_item_that_is_not_an_object_points_at_the_item_itself() {
    let err = crate::NewEntry::from_json("\"ct-1\"").unwrap_err();
    let problem = Rejection::from(err).to_problem(2);
    assert_eq!(problem.errors.len(), 1);
    assert_eq!(problem.errors[0].pointer, "/entries/2");
}
