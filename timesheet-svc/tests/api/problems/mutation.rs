//! Property-style: 200 random mutations of a valid upload item (random JSON values in random
//! fields, removed fields, unknown fields) never make the service answer with a 5xx.

use serde_json::{json, Map, Value};

use crate::helpers::{admin, days_ago, item, TestApp};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).expect("small")).expect("small")
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn random_string(rng: &mut Rng) -> String {
    let samples = [
        String::new(),
        " ".into(),
        "x".into(),
        " padded ".into(),
        "2026-11-23".into(),
        days_ago(1),
        days_ago(-1),
        "2026-02-29".into(),
        "0000-01-01".into(),
        "7.5".into(),
        "1e3".into(),
        "-1".into(),
        "NaN".into(),
        "contractor".into(),
        "employee".into(),
        "a@b.co".into(),
        "\u{0}".into(),
        "line\nbreak".into(),
        "🙂".repeat(40),
        "é".repeat(129),
        "a".repeat(2001),
        "a".repeat(70_000),
        "'; drop table entry; --".into(),
        "%00".into(),
        "\u{202e}rtl".into(),
    ];
    rng.pick(&samples).clone()
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    let choice = if depth > 2 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match choice {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => {
            let numbers = [
                json!(0),
                json!(-1),
                json!(1),
                json!(30),
                json!(1440),
                json!(1441),
                json!(i64::MIN),
                json!(u64::MAX),
                json!(7.5),
                json!(-0.0),
                json!(1e308),
                json!(0.000_001),
            ];
            rng.pick(&numbers).clone()
        }
        3 | 4 => json!(random_string(rng)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = ["external_id", "kind", "name", "email", "x", ""];
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert((*rng.pick(&keys)).to_owned(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// A valid item with one to three random edits: a field set to a random value, removed, or an
/// unknown field added; nested worker fields included.
fn mutate(rng: &mut Rng, index: usize) -> Value {
    let mut entry = item(&format!("prop-{index}"), "w-prop", &days_ago(2), 1);
    let fields = [
        "external_id",
        "worker",
        "date",
        "project",
        "minutes",
        "hours",
        "notes",
        "billable",
        "surprise",
    ];
    let worker_fields = ["external_id", "kind", "name", "email", "surprise"];
    for _ in 0..=rng.below(3) {
        let remove = rng.below(4) == 0;
        let value = random_value(rng, 0);
        if rng.below(3) == 0 {
            let field = *rng.pick(&worker_fields);
            if let Some(worker) = entry["worker"].as_object_mut() {
                if remove {
                    worker.remove(field);
                } else {
                    worker.insert(field.to_owned(), value);
                }
            }
        } else {
            let field = *rng.pick(&fields);
            let map = entry.as_object_mut().expect("an object");
            if remove {
                map.remove(field);
            } else {
                map.insert(field.to_owned(), value);
            }
        }
    }
    entry
}

async fn random_mutations_of_an_upload_item_never_get_a_5xx(app: TestApp) {
    // Arrange
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mutations: Vec<Value> = (0..200).map(|i| mutate(&mut rng, i)).collect();
    let (mut accepted, mut refused) = (0, 0);

    for (i, entry) in mutations.into_iter().enumerate() {
        // Act
        let upload = app.upload(&admin(), "prop", vec![entry.clone()]).await;
        let single = app.create_entry(&admin(), entry.clone()).await;

        // Assert
        assert!(
            upload.status < 500,
            "mutation {i} {entry}: upload → {} {}",
            upload.status,
            upload.body
        );
        assert!(
            single.status < 500,
            "mutation {i} {entry}: create → {} {}",
            single.status,
            single.body
        );
        if upload.status == 200 {
            let results = upload.upload().results;
            assert_eq!(results.len(), 1, "mutation {i}: one result per item");
            if results[0].status == timesheet_domain::api::ItemStatus::Rejected {
                refused += 1;
            } else {
                accepted += 1;
            }
            if let Some(problem) = &results[0].problem {
                assert!(
                    problem.status < 500,
                    "mutation {i} {entry}: item problem {problem:?}"
                );
            }
        } else {
            upload.problem();
            refused += 1;
        }
        if single.status >= 400 {
            single.problem();
        }
    }
    app.get_public("/healthz").await.assert_status(200);
    assert!(
        accepted > 0 && refused > 0,
        "the mutations exercise both paths: {accepted} accepted, {refused} refused"
    );
}
api_test!(random_mutations_of_an_upload_item_never_get_a_5xx);
