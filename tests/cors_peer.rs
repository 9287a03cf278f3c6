//! The CORS peer suite (`../shared/peer-suites/cors/`, see its SOURCE.md):
//! (1) its response cases through our verdict function; (2) every probe
//! family's origins sent to a server with that misconfiguration (flagged)
//! and to a correct one (clean); (3) which families our own probe set
//! (hosting-service origins included) catches. Skipped with a clear line when the folder is absent.

use readiness::checks::cors::verdict::{
    Answer, ProbeKind, classify, hosting_origins, probe_origins,
};
use readiness::report::model::Outcome;
use serde_json::Value;

const HOST: &str = "www.example.com";
const TRUSTED: &str = "https://www.example.com";

fn suite_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-suites/cors");
    dir.is_dir().then_some(dir)
}

/// Our verdict in the suite's words: fail, warn or pass.
fn coarse(kind: ProbeKind, origin: &str, answer: &Answer) -> (&'static str, Vec<&'static str>) {
    let issues = classify(kind, origin, answer, true);
    let codes = issues.iter().map(|i| i.code).collect();
    let v = if issues.iter().any(|i| i.outcome == Outcome::Fail) {
        "fail"
    } else if issues.is_empty() {
        "pass"
    } else {
        "warn"
    };
    (v, codes)
}

fn kind_of(origin: &str) -> ProbeKind {
    if origin == "null" {
        ProbeKind::Null
    } else if origin.ends_with(&format!(".{HOST}")) {
        ProbeKind::Subdomain
    } else {
        ProbeKind::Foreign
    }
}

/// A server policy for each family: does it grant this origin (besides the trusted one)?
fn vulnerable(family: &str, origin: &str, third_party: &[String]) -> bool {
    let host = origin.split("://").nth(1).unwrap_or("");
    match family {
        "reflect-any-origin" => true,
        "prefix-match" | "special-character-bypass" => origin.starts_with(TRUSTED),
        "suffix-match" => origin.ends_with("example.com"),
        "substring-match" => !host.is_empty() && HOST.contains(host),
        "unescaped-dot" => regex::Regex::new(r"^https://([a-z0-9-]+.)*example.com$")
            .unwrap()
            .is_match(origin),
        "trust-null" => origin == "null",
        "trust-any-subdomain" => origin.ends_with(".www.example.com"),
        "https-trusts-http" => origin == "http://www.example.com",
        "third-party-hosting" => third_party.iter().any(|t| t == origin),
        _ => false,
    }
}

fn answer_of(granted: bool, origin: &str) -> Answer {
    Answer {
        acao: granted.then(|| origin.to_string()),
        acac: granted,
        vary_origin: true,
    }
}

fn expand(template: &str) -> String {
    template
        .replace("{scheme}", "https")
        .replace("{host}", HOST)
        .replace("{registrable_dot_swapped}", "exampleacom")
        .replace("{registrable_minus_first_char}", "xample.com")
        .replace("{registrable}", "example.com")
}

#[test]
fn cors_peer_suite() {
    let Some(dir) = suite_dir() else {
        eprintln!("skipped: ../shared/peer-suites/cors not found");
        return;
    };
    let text = std::fs::read_to_string(dir.join("cors-probe-cases.yml")).unwrap();
    let suite: Value = serde_norway::from_str(&text).unwrap();
    let origins_json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("corscanner-origins.json")).unwrap(),
    )
    .unwrap();
    let third_party: Vec<String> = origins_json["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();

    // (1) Response cases.
    let (mut total, mut passed) = (0, 0);
    for case in suite["response_cases"].as_array().unwrap() {
        total += 1;
        let r = &case["response"];
        let origin = case["request_origin"]
            .as_str()
            .unwrap_or("https://evil.com");
        let answer = Answer {
            acao: r["acao"].as_str().map(str::to_string),
            acac: r["acac"].as_str() == Some("true"),
            vary_origin: r["vary"].as_str().is_some_and(|v| v.contains("Origin")),
        };
        let (got, codes) = coarse(kind_of(origin), origin, &answer);
        let want = case["verdict"].as_str().unwrap();
        let ok = match want {
            // A broken policy browsers refuse: reported, but not as a credentialed leak.
            "fail-config" => codes == vec!["cors.wildcard-with-credentials"],
            _ => got == want,
        };
        if ok {
            passed += 1;
        } else {
            eprintln!(
                "response case {}: want {want}, got {got} {codes:?}",
                case["id"]
            );
        }
    }
    eprintln!("cors response cases: {passed}/{total} passed");
    assert_eq!(passed, total);

    // (2) Probe families, both ways.
    let (mut total, mut passed) = (0, 0);
    for probe in suite["probes"].as_array().unwrap() {
        let family = probe["id"].as_str().unwrap();
        let origins: Vec<String> = if probe.get("origins_file").is_some() {
            third_party.clone()
        } else if let Some(chars) = probe["special_characters"].as_array() {
            let t = probe["origin"].as_str().unwrap();
            chars
                .iter()
                .map(|c| expand(&t.replace("{char}", c.as_str().unwrap())))
                .collect()
        } else {
            vec![expand(probe["origin"].as_str().unwrap())]
        };
        for origin in origins {
            total += 1;
            let granted = vulnerable(family, &origin, &third_party);
            let (bad, _) = coarse(kind_of(&origin), &origin, &answer_of(granted, &origin));
            let (good, _) = coarse(kind_of(&origin), &origin, &answer_of(false, &origin));
            // Subdomains are information (warn); every other family is a failure.
            let want_bad = if family == "trust-any-subdomain" {
                "warn"
            } else {
                "fail"
            };
            if granted && bad == want_bad && good == "pass" {
                passed += 1;
            } else {
                eprintln!("probe {family} {origin}: vulnerable -> {bad}, correct -> {good}");
            }
        }
    }
    eprintln!("cors probe origins: {passed}/{total} passed");
    assert_eq!(passed, total);

    // (3) Which families our own probe set catches on its own.
    let base = url::Url::parse("https://api.example.com/").unwrap();
    let mut ours = probe_origins(&[TRUSTED.to_string()], &base);
    ours.extend(hosting_origins(&[TRUSTED.to_string()]));
    let mut caught = Vec::new();
    for probe in suite["probes"].as_array().unwrap() {
        let family = probe["id"].as_str().unwrap();
        let hit = ours.iter().any(|p| {
            p.kind != ProbeKind::Allowed
                && vulnerable(family, &p.origin, &third_party)
                && !classify(p.kind, &p.origin, &answer_of(true, &p.origin), true).is_empty()
        });
        if hit {
            caught.push(family);
        }
    }
    eprintln!(
        "cors families caught by our probe set: {}/{} ({caught:?})",
        caught.len(),
        suite["probes"].as_array().unwrap().len()
    );
    assert!(caught.len() >= 10, "{caught:?}");
    assert!(caught.contains(&"third-party-hosting"), "{caught:?}");
}
