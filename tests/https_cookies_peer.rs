//! Measures the `Set-Cookie` parser and cookie jar against the IETF
//! http-state suite (tough-cookie JSON form) and its cookie-date cases.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use readiness::checks::https::cookie::{CookieJar, parse_cookie_date};
use serde::Deserialize;
use url::Url;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-suites/http-state-cookies")
}

#[derive(Deserialize)]
struct ParserCase {
    test: String,
    received: Vec<String>,
    sent: Vec<SentCookie>,
    #[serde(rename = "sent-to")]
    sent_to: Option<String>,
}

#[derive(Deserialize)]
struct SentCookie {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct DateCase {
    test: String,
    expected: Option<String>,
}

fn now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(elapsed.as_secs()).expect("seconds")
}

fn run_case(case: &ParserCase, now: i64) -> Result<(), String> {
    let origin = format!(
        "http://home.example.org:8888/cookie-parser-result?{}",
        case.test.to_ascii_lowercase()
    );
    let origin = Url::parse(&origin).map_err(|e| e.to_string())?;
    let mut jar = CookieJar::new();
    for line in &case.received {
        // Rejections are expected for many cases; only what is sent matters.
        let _ = jar.store(&origin, line, now);
    }

    let target = match &case.sent_to {
        Some(to) => origin.join(to).map_err(|e| e.to_string())?,
        None => origin.clone(),
    };
    let got: Vec<(String, String)> = jar
        .cookies_for(&target, now)
        .iter()
        .map(|c| (c.name.clone(), c.value.clone()))
        .collect();
    let want: Vec<(String, String)> = case
        .sent
        .iter()
        .map(|c| (c.name.clone(), c.value.clone()))
        .collect();
    if got == want {
        Ok(())
    } else {
        Err(format!("sent {got:?}, expected {want:?}"))
    }
}

#[test]
fn http_state_parser_suite() {
    let path = suite_dir().join("tough-cookie-parser.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let cases: Vec<ParserCase> = serde_json::from_str(&text).expect("suite JSON");

    let now = now();
    let mut passed = 0;
    let mut failed = Vec::new();
    for case in &cases {
        match run_case(case, now) {
            Ok(()) => passed += 1,
            Err(why) => failed.push(format!("{}: {why}", case.test)),
        }
    }

    eprintln!("cookies parser: {passed}/{} passed", cases.len());
    for failure in &failed {
        eprintln!("  failed {failure}");
    }
    assert_eq!(cases.len(), 222);
    assert!(passed >= 221, "cookies parser: only {passed}/222 passed");
}

/// Splits "Sat, 15 Apr 2017 21:01:22 GMT" into numbers, ignoring the weekday
/// (a few expected strings in the suite carry a wrong weekday).
fn expected_fields(text: &str) -> Option<(i32, u8, u8, u8, u8, u8)> {
    let parts: Vec<&str> = text.split([' ', ':']).collect();
    let [_, day, month, year, hour, minute, second, _] = parts.as_slice() else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| m == month)? + 1;
    Some((
        year.parse().ok()?,
        u8::try_from(month).ok()?,
        day.parse().ok()?,
        hour.parse().ok()?,
        minute.parse().ok()?,
        second.parse().ok()?,
    ))
}

fn fields_of(unix: i64) -> Option<(i32, u8, u8, u8, u8, u8)> {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    Some((
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    ))
}

fn load_dates(name: &str) -> Option<Vec<DateCase>> {
    let text = std::fs::read_to_string(suite_dir().join("dates").join(name)).ok()?;
    let json: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).ok()
}

#[test]
fn http_state_cookie_dates() {
    let (Some(examples), Some(bsd)) =
        (load_dates("examples.json"), load_dates("bsd-examples.json"))
    else {
        eprintln!("skipped: http-state-cookies/dates not found");
        return;
    };

    let mut total = 0;
    let mut passed = 0;
    let mut failed = Vec::new();
    for case in examples.iter().chain(bsd.iter()) {
        total += 1;
        let got = parse_cookie_date(&case.test).and_then(fields_of);
        let want = case.expected.as_deref().and_then(expected_fields);
        if case.expected.is_some() && want.is_none() {
            failed.push(format!("{:?}: unreadable expectation", case.test));
        } else if got == want {
            passed += 1;
        } else {
            failed.push(format!("{:?}: got {got:?}, expected {want:?}", case.test));
        }
    }

    eprintln!("cookie dates: {passed}/{total} passed");
    for failure in &failed {
        eprintln!("  failed {failure}");
    }
    assert_eq!(total, 70);
    assert!(passed >= 70, "cookie dates: only {passed}/{total} passed");
}
