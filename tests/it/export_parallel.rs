//! idm-export reading Okta in parallel (lanes per bucket, a fan-out per group and app) against
//! the sandbox: the same bytes as one reader, within the org's modelled limits, and a part
//! that fails fails the whole export.

use std::process::{Command, Output};

use idm::export::{ORDER, export};
use idm::http::{Client, ClientOptions, Service};
use idm::provider::okta::Okta;
use idm::provider::{ExportOptions, Sink, Source, SourceError};
use idm::record::{Kind, RecordWriter};
use idm::sandbox::limits::OktaTier;
use idm::sandbox::seed::SeedConfig;
use idm::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig, Side};
use idm::secrets::Secret;

fn sandbox(users: u64, groups: u64, apps: u64, cfg: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut c = SandboxConfig {
        seed: SeedConfig {
            users,
            groups,
            apps,
            seed: 11,
        },
        ..SandboxConfig::default()
    };
    cfg(&mut c);
    Sandbox::start(c).expect("sandbox starts")
}

/// idm-export with the sandbox's URL and token, nothing else from the environment (so no
/// `IDM_OKTA_RATE_LIMIT`: without the flag the limits are learned).
fn idm_export(sb: &Sandbox, dir: &tempfile::TempDir, args: &[&str]) -> (Command, Output) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idm-export"));
    c.current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IDM_OKTA_URL", sb.okta_url())
        .env("IDM_OKTA_TOKEN", sb.okta_token())
        .env("IDM_STATE", dir.path().join("state.ndjson"))
        .args(args);
    let out = c.output().unwrap();
    (c, out)
}

fn show(c: &Command, out: &Output) -> String {
    format!(
        "command: {c:?}\nstatus: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The lines of a stream that are records (its markers left out).
fn record_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.starts_with(r#"{"kind":"stream""#))
        .map(str::to_string)
        .collect()
}

/// The Okta source with its parallel reading switched off: every kind on one handle.
struct OneByOne(Okta);

impl Source for OneByOne {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn kinds(&self) -> Vec<Kind> {
        self.0.kinds()
    }
    fn export(
        &mut self,
        kind: &Kind,
        opts: &ExportOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), SourceError> {
        self.0.export(kind, opts, sink)
    }
}

#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_parallel_export_writes_the_same_bytes_as_one_reader() {
    // small pages: every group's members and every app's users span several pages, so the
    // fan-out's parts are filled a page at a time on several connections at once
    let sb = sandbox(400, 20, 7, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let (c, out) = idm_export(
        &sb,
        &dir,
        &[
            "--include-deprovisioned",
            "--page-size",
            "7",
            "--rate-limit",
            "none",
        ],
    );
    assert!(out.status.success(), "{}", show(&c, &out));
    let parallel = record_lines(&out.stdout);

    let client = Client::new(ClientOptions::new(Service::Okta)).unwrap();
    let okta = Okta::new(sb.okta_url(), &Secret::new(sb.okta_token()), client).unwrap();
    let mut one = OneByOne(okta);
    let buf = Shared::default();
    let mut w = RecordWriter::from_writer(buf.clone());
    let opts = ExportOptions {
        include_deprovisioned: true,
        page_size: 7,
        ..ExportOptions::default()
    };
    export(&mut one, &ORDER, &opts, &mut w, None, false).unwrap();
    w.finish().unwrap();
    let sequential = record_lines(&buf.0.lock().unwrap());

    let memberships = sequential
        .iter()
        .filter(|l| l.starts_with(r#"{"kind":"membership""#))
        .count();
    assert!(
        memberships > 100,
        "too few memberships to tell: {memberships}"
    );
    assert_eq!(parallel.len(), sequential.len());
    let first_diff = parallel.iter().zip(&sequential).position(|(a, b)| a != b);
    assert!(
        first_diff.is_none(),
        "line {:?} differs:\nparallel:   {}\nsequential: {}",
        first_diff,
        parallel[first_diff.unwrap_or(0)],
        sequential[first_diff.unwrap_or(0)]
    );
}

#[test]
fn learned_limits_keep_a_developer_org_under_every_bucket_limit() {
    // A free developer org: 20 app listings a minute, 100 a minute in the other buckets, 15
    // requests at once. Pages of 2 make the group members bucket need more than one window,
    // so the client must pace itself by what the headers say, with no --rate-limit given.
    let sb = sandbox(120, 12, 4, |c| {
        c.okta_rate_tier = Some(OktaTier::Developer);
        c.okta_concurrency = Some(OktaTier::Developer.concurrency());
    });
    let dir = tempfile::tempdir().unwrap();
    let (c, out) = idm_export(&sb, &dir, &["--page-size", "2"]);
    assert!(out.status.success(), "{}", show(&c, &out));
    let stats = sb.stats(Side::Okta);
    let members = &stats["by_bucket"]["/api/v1/groups/{id}"];
    let asked: u64 = stats["by_route"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.contains("/groups/") && route.ends_with("/users"))
        .filter_map(|(_, n)| n.as_u64())
        .sum();
    assert!(
        asked > members["limit"].as_u64().unwrap(),
        "the members took one window only ({asked} requests): nothing was paced: {stats}"
    );
    assert_eq!(stats["over_limit"], 0, "{stats}");
    assert_eq!(stats["concurrency"]["rejected"], 0, "{stats}");
    assert!(!record_lines(&out.stdout).is_empty());
}

#[test]
fn a_failed_group_listing_in_the_fan_out_fails_the_export() {
    let sb = sandbox(200, 10, 3, |_| {});
    let groups: Vec<String> = sb
        .dump(Side::Okta)
        .iter()
        .filter(|r| r["kind"] == "group")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    // a group in the middle: parts before and after it succeed
    let broken = &groups[groups.len() / 2];
    sb.script_fault(
        Side::Okta,
        FaultRule::new(FaultKind::ServerError)
            .path(&format!("/api/v1/groups/{broken}/users"))
            .times(1000),
    );
    let dir = tempfile::tempdir().unwrap();
    let (c, out) = idm_export(
        &sb,
        &dir,
        &["--page-size", "5", "--retries", "1", "--rate-limit", "none"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&c, &out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#""id":"begin""#) && !text.contains(r#""id":"end""#),
        "the stream must say it is incomplete: {}",
        show(&c, &out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("membership"), "{stderr}");
    // nothing of the broken group, nor after it, was written as if whole
    let journal = std::fs::read_to_string(dir.path().join("state.ndjson")).unwrap_or_default();
    assert!(!journal.contains("bookmark"), "{journal}");
}
