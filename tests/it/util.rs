//! The shared harness of the integration tests: run a tool, feed its stdin from a thread (a
//! tool may write before it has read everything: feeding from the test's own thread could
//! deadlock on full pipes), read its records, expect an exit code with a readable dump of
//! command, status, stdout and stderr when the expectation fails, and start a sandbox.

// a harness: not every test module uses every helper
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use idm::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// A sandbox with a seeded Okta tenant of `users` users (and the default OneLogin account).
pub fn sandbox(users: u64) -> Sandbox {
    let mut cfg = SandboxConfig::default();
    cfg.seed.users = users;
    Sandbox::start(cfg).expect("the sandbox starts")
}

/// The path of one of the crate's binaries.
pub fn bin(name: &str) -> &'static str {
    match name {
        "idm-attrs" => env!("CARGO_BIN_EXE_idm-attrs"),
        "idm-connectors" => env!("CARGO_BIN_EXE_idm-connectors"),
        "idm-creds" => env!("CARGO_BIN_EXE_idm-creds"),
        "idm-csv" => env!("CARGO_BIN_EXE_idm-csv"),
        "idm-export" => env!("CARGO_BIN_EXE_idm-export"),
        "idm-load" => env!("CARGO_BIN_EXE_idm-load"),
        "idm-map" => env!("CARGO_BIN_EXE_idm-map"),
        "idm-report" => env!("CARGO_BIN_EXE_idm-report"),
        "idm-sandbox" => env!("CARGO_BIN_EXE_idm-sandbox"),
        "idm-verify" => env!("CARGO_BIN_EXE_idm-verify"),
        other => panic!("no binary `{other}`"),
    }
}

/// A file of tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Feed `input` to a spawned child's piped stdin from a thread.
pub fn feed(mut child: Child, input: Vec<u8>) -> Child {
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // a tool that stops reading early closes the pipe: that is its business
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    child
}

/// One run of a tool about to happen.
pub struct Tool {
    name: String,
    cmd: Command,
    args: Vec<String>,
    stdin: Vec<u8>,
    /// The working directory when the test names none: a fresh one, so that a default
    /// `./idm-state.ndjson` or `./idm.toml` is never the repository's, nor another test's.
    scratch: Option<tempfile::TempDir>,
}

impl Tool {
    /// `idm-map` and the like; nothing inherited on stdin.
    pub fn new(name: &str) -> Tool {
        let mut cmd = Command::new(bin(name));
        // a developer's own settings must not leak into a test
        for var in ["IDM_CONFIG", "IDM_REJECTS", "IDM_STATE", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        let scratch = tempfile::tempdir().expect("a scratch directory");
        cmd.current_dir(scratch.path());
        Tool {
            name: name.to_string(),
            cmd,
            args: Vec::new(),
            stdin: Vec::new(),
            scratch: Some(scratch),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Tool {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Tool {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Tool {
        self.cmd.env_remove(key);
        self
    }

    /// The sandbox's Okta org in the environment, with no client-side quota.
    pub fn okta(self, sb: &Sandbox) -> Tool {
        self.env("IDM_OKTA_URL", sb.okta_url())
            .env("IDM_OKTA_TOKEN", sb.okta_token())
            .env("IDM_OKTA_RATE_LIMIT", "none")
    }

    /// The sandbox's OneLogin account in the environment, with no client-side quota.
    pub fn onelogin(self, sb: &Sandbox) -> Tool {
        self.env("IDM_ONELOGIN_URL", sb.onelogin_url())
            .env("IDM_ONELOGIN_CLIENT_ID", sb.onelogin_client_id())
            .env("IDM_ONELOGIN_CLIENT_SECRET", sb.onelogin_client_secret())
            .env("IDM_ONELOGIN_RATE_LIMIT", "none")
    }

    pub fn dir(mut self, dir: &Path) -> Tool {
        self.cmd.current_dir(dir);
        self.scratch = None;
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Tool {
        self.stdin = input.into();
        self
    }

    /// Start it, stdin fed from a thread; the caller waits.
    pub fn spawn(mut self) -> Running {
        let child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", self.name));
        let child = feed(child, std::mem::take(&mut self.stdin));
        Running {
            what: format!("{} {}", self.name, self.args.join(" ")),
            child,
            _scratch: self.scratch.take(),
        }
    }

    /// Run it to the end.
    pub fn run(self) -> Ran {
        self.spawn().wait()
    }

    /// Run it to the end, the raw output.
    pub fn output(self) -> Output {
        self.spawn()
            .child
            .wait_with_output()
            .expect("the tool ends")
    }
}

/// A tool that is running.
pub struct Running {
    what: String,
    pub child: Child,
    _scratch: Option<tempfile::TempDir>,
}

impl Running {
    pub fn wait(self) -> Ran {
        let out = self.child.wait_with_output().expect("the tool ends");
        Ran::from(self.what, out)
    }
}

/// What one run printed.
#[derive(Debug)]
pub struct Ran {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn from(what: String, out: Output) -> Ran {
        Ran {
            what,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Everything a person needs to see when an expectation fails.
    pub fn show(&self) -> String {
        let head: String = self.stdout.lines().take(40).collect::<Vec<_>>().join("\n");
        format!(
            "$ {}\nexit: {:?}\n--- stdout (head)\n{head}\n--- stderr\n{}",
            self.what, self.code, self.stderr
        )
    }

    /// Assert the exit code.
    pub fn expect(&self, code: i32) -> &Ran {
        assert_eq!(self.code, Some(code), "{}", self.show());
        self
    }

    /// stdout as records.
    pub fn records(&self) -> Vec<Value> {
        records(&self.stdout)
    }
}

/// NDJSON text as values (blank lines and stream markers skipped).
pub fn records(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}")))
        .filter(|r| r["kind"] != "stream")
        .collect()
}

// ---------- a counting allocator: heap bytes of the current thread, current and peak ----------

struct Counting;

thread_local! {
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn track(delta: i64) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as i64);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most heap this thread held above its level at the start, while `f` ran.
pub fn peak_heap_during(f: impl FnOnce()) -> i64 {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(start));
    f();
    PEAK.with(Cell::get) - start
}
