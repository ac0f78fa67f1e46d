//! The shared entry wrapper and command-line plumbing of every `idm-*` binary.
//!
//! Each binary is `fn main() -> ExitCode { cli::main::<Args>("idm-x", run) }`. The wrapper
//! parses flags (usage errors exit 2, `--help` exits 0), sets up logging on stderr, runs the
//! tool, and turns the outcome into the exit codes of DESIGN.md:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | all done |
//! | 1 | fatal: cannot start, cannot reach an API, bad credentials |
//! | 2 | usage error |
//! | 3 | finished, but some records were rejected or failed (they are in the output) |
//!
//! A fatal error is printed as one line, `idm-map: {err:#}`. A closed stdout (`| head`) is
//! not an error: the tool stops quietly with the code it would have had.
//!
//! Every line for a person carries the tool's name: `idm-load: warning: …` for log events
//! (`error:`, `warning:`, nothing for info, `debug:`), `idm-load: line 42 (…): …` for rejected
//! records, and one summary line at the end of a run ([`summary`]). All of them go through
//! [`status::write_stderr`], so a progress bar never tears them; colour only on a terminal,
//! never with `NO_COLOR` or `TERM=dumb`.

pub mod conn;
pub mod reach;
pub mod status;

pub use status::{Progress, say};

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser;

/// Exit code: everything done.
pub const EXIT_OK: u8 = 0;
/// Exit code: fatal error.
pub const EXIT_FATAL: u8 = 1;
/// Exit code: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: finished, but some records were rejected or failed.
pub const EXIT_PARTIAL: u8 = 3;

/// The exit-code table shown at the end of every `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  all done
  1  fatal: cannot start, cannot reach an API, bad credentials
  2  usage error
  3  finished, but some records were rejected or failed (they are in the output)";

/// `--help`'s footer: the tool's examples, then the exit codes.
pub fn help_footer(examples: &str) -> String {
    format!("{}\n\n{EXIT_CODES_HELP}", examples.trim_end())
}

/// Where a tool writes its data: a file created 0600 (people's data), or stdout for `-` or
/// nothing. Buffered; the caller flushes.
pub fn output(path: Option<&Path>) -> io::Result<io::BufWriter<Box<dyn Write>>> {
    let out: Box<dyn Write> = match path {
        Some(p) if p != Path::new("-") => Box::new(crate::record::create_private_file(p)?),
        _ => Box::new(io::stdout().lock()),
    };
    Ok(io::BufWriter::with_capacity(256 * 1024, out))
}

static TOOL: OnceLock<&'static str> = OnceLock::new();
static STARTED: OnceLock<Instant> = OnceLock::new();

/// The running tool's name (`idm-map`), for messages.
pub fn tool() -> &'static str {
    TOOL.get().copied().unwrap_or("idm")
}

/// How long the tool has been running.
pub fn elapsed() -> Duration {
    STARTED.get_or_init(Instant::now).elapsed()
}

/// The one line a run ends with: `idm-map: {line} in 0.8 s` on stderr, unless `-q`. The line
/// holds the counts by outcome (`mapped 2,650 records (30 passed through, …)`).
pub fn summary(line: &str) {
    if !status::quiet() {
        say(&format!("{line} in {}", status::human_elapsed(elapsed())));
    }
}

/// How a tool's run ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything was processed.
    Done,
    /// The run finished, but some records were rejected or failed.
    Partial,
}

impl Status {
    /// `Partial` when `failures > 0`, else `Done`.
    pub fn from_failures(failures: u64) -> Status {
        if failures > 0 {
            Status::Partial
        } else {
            Status::Done
        }
    }
}

/// An error that is the user's fault: bad flags or flag combinations. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Build a usage error (exit code 2) for `anyhow` call sites.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Flags every tool shares: verbosity and status lines.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Fewer diagnostics: errors only (no progress, no status lines, no summary).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The project file (default: ./idm.toml when there is one). Flags and environment
    /// variables override what it says.
    #[arg(long, value_name = "FILE", env = "IDM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// When stderr is not a terminal (or NO_COLOR/TERM=dumb), a step that runs longer prints
    /// one status line per interval: `10s`, `1m`, `0` for none.
    #[arg(long, value_name = "DURATION", env = "IDM_STATS_INTERVAL", default_value = "10s",
          value_parser = status::parse_interval, global = true)]
    pub stats_interval: Duration,
}

/// Input, output and rejects files of a streaming tool.
#[derive(Debug, Clone, clap::Args)]
pub struct IoArgs {
    /// Read records from FILE (`-` or nothing: stdin).
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The input file, as with --input (`idm-map export.ndjson`).
    #[arg(value_name = "FILE", conflicts_with = "input")]
    pub file: Option<PathBuf>,
    /// Write records to FILE, created 0600 (`-` or nothing: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write every rejected input line, whole, to FILE (created 0600).
    #[arg(long, value_name = "FILE", env = "IDM_REJECTS")]
    pub rejects: Option<PathBuf>,
}

impl IoArgs {
    /// The input file, given as `--input FILE` or as the positional FILE; `None`: stdin.
    pub fn input(&self) -> Option<&Path> {
        self.input.as_deref().or(self.file.as_deref())
    }
}

/// The state journal of the migration.
#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// The state journal shared by the tools of one migration.
    #[arg(
        long,
        value_name = "PATH",
        env = "IDM_STATE",
        default_value = "idm-state.ndjson"
    )]
    pub state: PathBuf,
}

/// Implemented by each tool's `Args` so the wrapper can set up logging.
pub trait HasLogArgs {
    fn log_args(&self) -> &LogArgs;
}

/// Cap glibc's malloc at `arenas` arenas, for a tool whose threads mostly wait on the network.
/// Each thread otherwise gets an arena of its own, which keeps the high-water mark of what that
/// thread ever parsed: idm-export's dozen reading threads cost ~10 MB of peak memory that way.
/// A no-op on other C libraries.
pub fn limit_malloc_arenas(arenas: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; any value is accepted or refused.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = arenas;
}

/// The shared `main` of every binary.
pub fn main<A>(tool: &'static str, run: fn(A) -> anyhow::Result<Status>) -> ExitCode
where
    A: Parser + HasLogArgs,
{
    let _ = TOOL.set(tool);
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = generate::<A>(tool, &argv) {
        return code;
    }
    // the project file fills the environment before clap reads it (flags > env > file)
    if let Err(err) = crate::config::apply(&argv) {
        eprintln!("{tool}: {err}");
        return ExitCode::from(EXIT_USAGE);
    }
    let _ = STARTED.set(Instant::now());
    let args = match A::try_parse_from(&argv) {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    init_logging(args.log_args());
    match run(args) {
        Ok(Status::Done) => ExitCode::from(EXIT_OK),
        Ok(Status::Partial) => ExitCode::from(EXIT_PARTIAL),
        Err(err) => ExitCode::from(report_error(tool, &err)),
    }
}

/// What `make install` asks of each tool (hidden from `--help`): `--generate-man DIR` writes
/// its man pages (one per subcommand too) into DIR, `--generate-completions SHELL` prints its
/// completion script for bash, zsh, fish, elvish or powershell. Both come from the same
/// clap definitions as `--help`, so they cannot drift from it.
fn generate<A: Parser>(tool: &str, argv: &[std::ffi::OsString]) -> Option<ExitCode> {
    let what = argv.get(1)?.to_str()?;
    let value = argv.get(2).and_then(|v| v.to_str());
    let result: Result<(), String> = match (what, value) {
        ("--generate-man", Some(dir)) => {
            clap_mangen::generate_to(A::command(), dir).map_err(|e| format!("{dir}: {e}"))
        }
        ("--generate-completions", Some(shell)) => match shell.parse::<clap_complete::Shell>() {
            Ok(shell) => {
                clap_complete::generate(shell, &mut A::command(), tool, &mut io::stdout());
                Ok(())
            }
            Err(e) => Err(e),
        },
        ("--generate-man" | "--generate-completions", None) => Err(format!("{what} needs a value")),
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("{tool}: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    })
}

/// Print a fatal error as one line and pick its exit code.
fn report_error(tool: &str, err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return EXIT_OK;
    }
    status::write_stderr(format!("{tool}: {}\n", one_line(err)).as_bytes());
    if is_usage(err) {
        EXIT_USAGE
    } else {
        EXIT_FATAL
    }
}

/// True when the error is the user's (exit 2): a [`UsageError`] anywhere in the chain, also
/// inside an `io::Error` (how a reader of records says its input is the wrong kind of stream).
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<UsageError>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(|e| e.get_ref())
                .is_some_and(|inner| inner.is::<UsageError>())
    })
}

/// An error and its causes on one line, each cause once: a cause whose text the message
/// already holds (`cannot open x: Permission denied` over `Permission denied`) is not repeated.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// True when the error comes from writing to a closed pipe (`idm-export | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(args: &LogArgs) {
    use tracing_subscriber::EnvFilter;
    status::configure(args.quiet, args.stats_interval);
    let default = match (args.quiet, args.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let color = status::color();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrLine(Vec::new()))
        .with_ansi(color)
        .event_format(Prefixed { color })
        .try_init();
}

/// Log events as `idm-load: warning: message key=value`, the level word coloured only when
/// stderr takes colour.
struct Prefixed {
    color: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Prefixed
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use tracing::Level;
        let (word, sgr) = match *event.metadata().level() {
            Level::ERROR => (Some("error"), "1;31"),
            Level::WARN => (Some("warning"), "1;33"),
            Level::INFO => (None, ""),
            Level::DEBUG => (Some("debug"), "2"),
            Level::TRACE => (Some("trace"), "2"),
        };
        write!(w, "{}: ", tool())?;
        match word {
            Some(word) if self.color => write!(w, "\x1b[{sgr}m{word}\x1b[0m: ")?,
            Some(word) => write!(w, "{word}: ")?,
            None => {}
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// One formatted event, written whole when dropped (through [`status::write_stderr`], so a
/// progress bar is hidden while it is written).
struct StderrLine(Vec<u8>);

impl Write for StderrLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StderrLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            status::write_stderr(&self.0);
        }
    }
}

/// The display of one step (see [`Progress`]): a bar when stderr is a terminal, a status line
/// every `--stats-interval` otherwise, nothing with `-q`. With a known `total` it shows count,
/// percentage, rate and ETA; without, count and rate.
pub fn progress(label: &str, total: Option<u64>) -> Progress {
    Progress::new(label, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_told_apart_from_fatal_ones() {
        let usage_err = usage("`--apply` needs `--to`").context("checking flags");
        assert_eq!(report_error("idm-test", &usage_err), EXIT_USAGE);
        let fatal = anyhow::anyhow!("cannot reach `http://127.0.0.1:1`");
        assert_eq!(report_error("idm-test", &fatal), EXIT_FATAL);
    }

    #[test]
    fn each_cause_is_said_once() {
        // `Permission denied (os error 13): Permission denied (os error 13)`
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open `x`: {source}")]
        struct Open {
            source: io::Error,
        }
        let err = anyhow::Error::new(Open {
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        })
        .context("reading the journal");
        let line = one_line(&err);
        assert_eq!(line.matches("permission denied").count(), 1, "{line}");
        assert!(
            line.starts_with("reading the journal: cannot open `x`"),
            "{line}"
        );
    }

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing records");
        assert!(is_broken_pipe(&err));
        assert_eq!(report_error("idm-test", &err), EXIT_OK);
    }

    #[test]
    fn a_usage_error_inside_an_io_error_is_still_a_usage_error() {
        let io_err = io::Error::new(
            io::ErrorKind::InvalidInput,
            UsageError("the input is not mapped".into()),
        );
        let err = anyhow::Error::new(io_err).context("reading the input");
        assert_eq!(report_error("idm-test", &err), EXIT_USAGE);
        assert!(one_line(&err).ends_with("the input is not mapped"));
    }

    #[test]
    fn status_follows_failures() {
        assert_eq!(Status::from_failures(0), Status::Done);
        assert_eq!(Status::from_failures(2), Status::Partial);
    }
}
