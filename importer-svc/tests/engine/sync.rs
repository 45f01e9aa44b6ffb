//! The steady state: a first run creates, a run without change sends nothing, an edit is one
//! update, and a change feed's checkpoint moves only forward.

use importer_svc::command::{run_outcome, Outcome};
use importer_svc::report::RunOutcome;
use importer_svc::source::SourceRecord;

use crate::harness::{on_both_backends, Scenario, TestState};

async fn a_first_run_creates_every_entry_in_batches(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(5);

    let report = s.run().await.unwrap();

    assert_eq!(report.outcome, RunOutcome::Success);
    assert_eq!(
        (
            report.counts.read,
            report.counts.created,
            report.counts.skipped
        ),
        (5, 5, 0)
    );
    assert_eq!(report.tokens_requested, 1);
    // batch_size 2: 2 + 2 + 1
    assert_eq!(s.api.upload_calls(), 3);
    assert_eq!(s.api.live("contractor-tracker").len(), 5);
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    assert_eq!(known.len(), 5);
    let api = s.api.live("contractor-tracker");
    for (id, k) in &known {
        assert_eq!(k.entry_id, Some(api[id.as_ref()].id), "{id}");
    }
    assert_eq!(run_outcome(&Ok(report)), Outcome::Success);
}
on_both_backends!(
    a_first_run_creates_every_entry_in_batches,
    a_first_run_creates_every_entry_in_batches_sqlite,
    a_first_run_creates_every_entry_in_batches_postgres
);

async fn a_second_run_without_change_sends_nothing_and_requests_no_token(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(5);
    s.run().await.unwrap();
    let calls = s.api.upload_calls();

    let report = s.run().await.unwrap();

    assert_eq!(s.api.upload_calls(), calls, "the second run uploaded");
    assert_eq!(s.api.delete_calls(), 0);
    assert_eq!(report.tokens_requested, 0);
    assert_eq!(
        (
            report.counts.read,
            report.counts.skipped,
            report.counts.created
        ),
        (5, 5, 0)
    );
    assert_eq!(report.outcome, RunOutcome::Success);
}
on_both_backends!(
    a_second_run_without_change_sends_nothing_and_requests_no_token,
    a_second_run_without_change_sends_nothing_and_requests_no_token_sqlite,
    a_second_run_without_change_sends_nothing_and_requests_no_token_postgres
);

async fn an_edit_is_sent_as_one_update(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(5);
    s.run().await.unwrap();
    let before = s.api.uploaded_items();

    s.source.put_with_notes("e3", "2026-11-05", 60, "edited");
    let report = s.run().await.unwrap();

    assert_eq!(s.api.uploaded_items() - before, 1);
    assert_eq!(
        (
            report.counts.updated,
            report.counts.skipped,
            report.counts.created
        ),
        (1, 4, 0)
    );
    assert_eq!(
        s.api.live("contractor-tracker")["e3"].entry.notes.as_ref(),
        "edited"
    );
}
on_both_backends!(
    an_edit_is_sent_as_one_update,
    an_edit_is_sent_as_one_update_sqlite,
    an_edit_is_sent_as_one_update_postgres
);

async fn a_change_feed_resumes_from_its_checkpoint_and_picks_up_back_dated_edits(db: &TestState) {
    let s = Scenario::new(db);
    s.source.set_incremental(true);
    s.source.put_many(3);
    let first = s.run().await.unwrap();
    assert_eq!(first.watermark, Some(s.source.clock()));
    let checkpoint = s.state.watermark(s.source.name_ref()).await.unwrap();
    assert_eq!(checkpoint, Some(s.source.clock()));

    // Back-dated: moved to an earlier day, modified now.
    s.source.put("e2", "2026-10-20", 60);
    let second = s.run().await.unwrap();

    assert_eq!(s.source.reads.lock().unwrap()[1], checkpoint);
    assert_eq!((second.counts.read, second.counts.updated), (1, 1));
    let api = s.api.live("contractor-tracker");
    assert_eq!(api["e2"].entry.date.to_string(), "2026-10-20");
    assert_eq!(
        s.state.watermark(s.source.name_ref()).await.unwrap(),
        Some(s.source.clock())
    );

    // Nothing new: the checkpoint stays, nothing is sent.
    let calls = s.api.upload_calls();
    let third = s.run().await.unwrap();
    assert_eq!((third.counts.read, s.api.upload_calls()), (0, calls));
    assert_eq!(
        s.state.watermark(s.source.name_ref()).await.unwrap(),
        Some(s.source.clock())
    );
}
on_both_backends!(
    a_change_feed_resumes_from_its_checkpoint_and_picks_up_back_dated_edits,
    a_change_feed_resumes_from_its_checkpoint_and_picks_up_back_dated_edits_sqlite,
    a_change_feed_resumes_from_its_checkpoint_and_picks_up_back_dated_edits_postgres
);

async fn hours_and_minutes_of_equal_value_are_the_same_content(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put("e1", "2026-11-02", 450);
    s.run().await.unwrap();
    let calls = s.api.upload_calls();

    // The same entry, spelled with hours: a source switching formats sends nothing.
    let mut read = importer_svc::source::Source::read(s.source.as_ref(), None)
        .await
        .unwrap();
    let record: &mut SourceRecord = &mut read.records[0];
    record.entry.minutes = None;
    record.entry.hours = Some(timesheet_domain::api::Hours::Text("7.5".into()));
    let digest_hours = importer_svc::sync::digest::entry_digest(&record.entry);
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();

    assert_eq!(known[&record.external_id].digest, digest_hours);
    assert_eq!(s.api.upload_calls(), calls);
}
on_both_backends!(
    hours_and_minutes_of_equal_value_are_the_same_content,
    hours_and_minutes_of_equal_value_are_the_same_content_sqlite,
    hours_and_minutes_of_equal_value_are_the_same_content_postgres
);
