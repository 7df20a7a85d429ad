//! The report in a real browser: Debian's Chromium, headless, renders it, takes
//! a screenshot and prints it to PDF, through `tests/browser/check_report.mjs`
//! (the DevTools protocol). The check fails on any console error and on any
//! request that is not the report file itself.
//!
//! Chromium is not optional: without it these tests fail and say how to
//! install it (`bash .ci/run` does).

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::util::{i4gauge, node_with};

/// The checker gives up after 60 s; this guard only catches a hung checker.
const CHECK_LIMIT: Duration = Duration::from_secs(90);
const DEMO_LIMIT: Duration = Duration::from_secs(120);

/// `$CHROMIUM`, else Debian's `/usr/bin/chromium`, once it exists.
pub(crate) fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: the browser tests need Debian's chromium; run `bash .ci/run` \
         (or: apt-get update && apt-get install -y --no-install-recommends chromium), \
         or point $CHROMIUM at a Chromium binary",
        path.display()
    );
    path
}

fn checker() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_report.mjs")
}

/// Runs `command` to the end, or kills it after `limit` and fails the test.
fn run_bounded(what: &str, command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{what} does not start: {error}"));
    // Drained in the background: a full pipe must not stall the child.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "{what} did not finish within {} s; it was killed\n{}",
                limit.as_secs(),
                String::from_utf8_lossy(&stderr)
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// What the checker said about one HTML file.
pub(crate) struct Check {
    pub(crate) code: Option<i32>,
    pub(crate) summary: Value,
    pub(crate) stderr: String,
}

/// Runs the checker on `report`, writing the PNG and the PDF to `out`.
pub(crate) fn check(report: &Path, out: &Path) -> Check {
    let chromium = chromium();
    let output = run_bounded(
        "check_report.mjs",
        Command::new(node_with("ws"))
            .arg(checker())
            .arg(report)
            .arg(out)
            .env("CHROMIUM", chromium),
        CHECK_LIMIT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("the checker printed no JSON summary ({error}):\n{stdout}\n{stderr}")
    });
    Check {
        code: output.status.code(),
        summary,
        stderr,
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

/// The report's own URL in the summary, checked against the file it names.
fn file_url<'a>(check: &'a Check, path: &Path) -> &'a str {
    let url = check.summary["url"].as_str().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        url.starts_with("file:///") && url.ends_with(&format!("/{name}")),
        "the checker opened {url}, not {}",
        path.display()
    );
    url
}

/// The PNG and the PDF exist, start with their magic bytes, and are larger
/// than `min_bytes`.
fn assert_rendered(out: &Path, check: &Check, min_bytes: usize) {
    for (name, magic, field) in [
        ("report.png", &b"\x89PNG\r\n\x1a\n"[..], "screenshot_bytes"),
        ("report.pdf", &b"%PDF-"[..], "pdf_bytes"),
    ] {
        let path = out.join(name);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            bytes.starts_with(magic),
            "{} is not a {name}",
            path.display()
        );
        assert!(
            bytes.len() > min_bytes,
            "{} has only {} bytes",
            path.display(),
            bytes.len()
        );
        assert_eq!(check.summary[field], bytes.len(), "{field} in the summary");
    }
}

#[test]
fn the_checker_catches_external_requests_and_console_errors() {
    let dir = tempfile::tempdir().unwrap();

    // Only ever 127.0.0.1: port 9 (discard) has nothing listening, and the
    // checker blocks the request before it leaves the browser anyway.
    let hostile = dir.path().join("hostile.html");
    std::fs::write(
        &hostile,
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Hostile</title></head>
<body><p>hostile</p><img src="http://127.0.0.1:9/x.png">
<script>console.error("boom")</script></body></html>
"#,
    )
    .unwrap();
    let out = dir.path().join("hostile-out");
    let result = check(&hostile, &out);
    assert_eq!(
        result.code,
        Some(1),
        "the hostile page passed:\n{}\n{}",
        result.summary,
        result.stderr
    );
    assert!(
        result.stderr.contains("http://127.0.0.1:9/x.png"),
        "the external request is not named:\n{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("boom"),
        "the console error is not named:\n{}",
        result.stderr
    );
    assert!(strings(&result.summary["requests"]).contains(&"http://127.0.0.1:9/x.png"));
    assert!(
        strings(&result.summary["errors"])
            .iter()
            .any(|error| error.contains("console.error: boom"))
    );

    // A clean page, with an inline data: image (allowed, listed) and a warning.
    let clean = dir.path().join("clean.html");
    std::fs::write(
        &clean,
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Clean</title>
<style>body { font-family: sans-serif; } .tall { height: 1500px; background: #eef; }</style></head>
<body><h1>Clean</h1>
<img alt="" src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/%3E">
<div class="tall"></div><script>console.log("fine"); console.warn("only a warning")</script>
</body></html>
"#,
    )
    .unwrap();
    let out = dir.path().join("clean-out");
    let result = check(&clean, &out);
    assert_eq!(
        result.code,
        Some(0),
        "the clean page failed:\n{}\n{}",
        result.summary,
        result.stderr
    );
    assert_eq!(
        strings(&result.summary["requests"]),
        [file_url(&result, &clean)]
    );
    assert_eq!(strings(&result.summary["data_urls"]).len(), 1);
    assert!(strings(&result.summary["errors"]).is_empty());
    assert_eq!(result.summary["title"], "Clean");
    assert_rendered(&out, &result, 0);
}

#[test]
fn the_demo_report_and_dashboard_render_cleanly_in_kk_and_en() {
    chromium();
    for (lang, file) in [
        ("kk", "report.html"),
        ("en", "report.html"),
        ("kk", "dashboard.html"),
        ("en", "dashboard.html"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo");
        let output = run_bounded(
            &format!("i4gauge demo --lang {lang}"),
            i4gauge()
                .arg("demo")
                .arg("--out")
                .arg(&demo)
                .args(["--lang", lang])
                .current_dir(dir.path()),
            DEMO_LIMIT,
        );
        assert!(
            output.status.success(),
            "i4gauge demo --lang {lang} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let report = demo.join(file);
        assert!(
            report.is_file(),
            "i4gauge demo --lang {lang} wrote no {}",
            report.display()
        );

        let out = dir.path().join("rendered");
        let result = check(&report, &out);
        assert_eq!(
            result.code,
            Some(0),
            "the {lang} demo {file} does not render cleanly:\n{}\n{}",
            result.summary,
            result.stderr
        );
        assert_eq!(
            strings(&result.summary["requests"]),
            [file_url(&result, &report)],
            "the {lang} report requested more than itself"
        );
        assert!(strings(&result.summary["errors"]).is_empty());
        // Nothing overflows a 1280 px window sideways (long Kazakh labels did once).
        let width = result.summary["page_width"].as_u64().unwrap();
        assert!(
            width <= 1280,
            "the {lang} {file} is {width} px wide at 1280"
        );
        assert_rendered(&out, &result, 10 * 1024);
    }
}
