//! Hand-made suites and rows for unit tests of the results, the gate and the report: every
//! aggregate can then be checked against a value computed by hand.

use std::path::Path;

use super::{build, sort_rows, Environment, Results, Row, RunRecord};
use crate::config::Suite;
use crate::data::Kind;

/// A synthetic suite with one `constant` localizer and two conditions, clean and `jpeg:50`.
pub fn suite() -> Suite {
    let text = "version: 1\nname: t\nseed: 0\ndata:\n  source: synth\nevaluation:\n  \
                bootstrap_resamples: 200\nlocalizers:\n  - constant\ntests:\n  degrade:\n    \
                - op: jpeg\n      levels: [50]\n";
    Suite::parse(Path::new("t.yaml"), text).expect("the test suite parses")
}

/// A row of the suite's localizer: a real image when `fake` is false; fakes carry a COSS.
pub fn row(suite: &Suite, condition: &str, id: &str, fake: bool, score: f64) -> Row {
    Row {
        localizer: suite.localizers[0].name.clone(),
        condition: condition.to_string(),
        id: id.to_string(),
        kind: if fake { Kind::Partial } else { Kind::Real },
        generator: "tconv".into(),
        property: "bald".into(),
        coss: fake.then_some(0.5),
        psnr: None,
        ssim: None,
        pixel_auc: None,
        f1: None,
        iou: None,
        score: Some(score),
        error: None,
        input_sha256: String::new(),
    }
}

/// `results.json` of the rows, as `harness run` builds it.
pub fn results(suite: &Suite, mut rows: Vec<Row>) -> Results {
    sort_rows(suite, &mut rows);
    let record = RunRecord {
        suite,
        dataset: serde_json::json!({}),
        dataset_fingerprint: String::new(),
        environment: Environment {
            os: String::new(),
            arch: String::new(),
            threads: 1,
            started_utc: String::new(),
            finished_utc: String::new(),
            wall_seconds: 0.0,
            resumed: false,
            resume: None,
        },
        shard: None,
        merged_from: None,
    };
    build(record, &rows)
}
