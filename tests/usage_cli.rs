//! `switchyard usage`: the report, export and import straight from the database file a config names.

mod common;

use std::path::{Path, PathBuf};

use common::usage::{event, insert, FIXTURE};
use serde_json::Value;
use switchyard::usage::UsageStore;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Runs `switchyard <args>` and returns its success, stdout and stderr.
fn run(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .expect("switchyard runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config naming a history in `dir`.
fn cli_config(dir: &Path) -> (String, PathBuf) {
    let db = dir.join("usage.sqlite");
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "secret-store: file\nusage-database-path: \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    (config.display().to_string(), db)
}

#[test]
fn the_cli_reports_exports_and_imports_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = cli_config(dir.path());
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let stamp = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    let recent = [
        event(
            "c1",
            &stamp(now - Duration::hours(1)),
            "laptop",
            "sonnet",
            200,
            (100, 50),
        ),
        event(
            "c2",
            &stamp(now - Duration::hours(2)),
            "laptop",
            "gpt-5",
            500,
            (0, 0),
        ),
        event(
            "c3",
            &stamp(now - Duration::days(3)),
            "ci",
            "sonnet",
            200,
            (10, 5),
        ),
    ];
    insert(&db, &recent);

    let (ok, out, err) = run(&["usage", "--since", "24h", "--json", "--config", &config]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["totals"]["requests"], 2, "{out}");
    assert_eq!(report["totals"]["errors"], 1);
    assert_eq!(report["bucket"], "hour");
    let (ok, out, err) = run(&["usage", "--config", &config]);
    assert!(ok, "{err}");
    assert!(out.contains("3 requests, 1 errors"), "{out}");
    assert!(out.contains("MODEL") && out.contains("gpt-5"), "{out}");
    let (ok, _, err) = run(&["usage", "--since", "soon", "--config", &config]);
    assert!(!ok && err.contains("7d, 24h"), "{err}");

    let file = dir.path().join("export.json");
    let (ok, out, err) = run(&[
        "usage",
        "export",
        "--out",
        file.to_str().unwrap(),
        "--config",
        &config,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Exported 3 requests"), "{out}");

    let other = tempfile::tempdir().unwrap();
    let (other_config, other_db) = cli_config(other.path());
    let (ok, out, err) = run(&[
        "usage",
        "import",
        file.to_str().unwrap(),
        "--config",
        &other_config,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("3 added, 0 already there"), "{out}");
    let (_, out, _) = run(&[
        "usage",
        "import",
        file.to_str().unwrap(),
        "--config",
        &other_config,
    ]);
    assert!(out.contains("0 added, 3 already there"), "{out}");
    let (ok, out, err) = run(&["usage", "import", FIXTURE, "--config", &other_config]);
    assert!(ok, "{err}");
    assert!(out.contains("CLIProxyAPI export: 6 added"), "{out}");
    assert_eq!(UsageStore::open(&other_db).unwrap().count().unwrap(), 9);
}
