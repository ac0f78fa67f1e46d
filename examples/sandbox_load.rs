//! Load generator for `bench/sandbox.sh`: N client threads walk the sandbox's Okta user list
//! page by page (following `Link: rel="next"`, starting over at the end) for a fixed time and
//! print the list-page requests per second.
//!
//! Usage: `sandbox_load OKTA_URL THREADS SECONDS LIMIT` with the token in `IDM_OKTA_TOKEN`
//! (never in argv).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn next_link(resp: &reqwest::blocking::Response) -> Option<String> {
    resp.headers().get_all("link").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.contains("rel=\"next\"")
            .then(|| v.split('<').nth(1)?.split('>').next().map(str::to_string))
            .flatten()
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 5,
        "usage: sandbox_load OKTA_URL THREADS SECONDS LIMIT (token in IDM_OKTA_TOKEN)"
    );
    let base = args[1].clone();
    let threads: usize = args[2].parse()?;
    let seconds: u64 = args[3].parse()?;
    let limit: u64 = args[4].parse()?;
    let token = std::env::var("IDM_OKTA_TOKEN")?;
    let stop = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, pages, bytes) = (stop.clone(), pages.clone(), bytes.clone());
            let first = format!("{base}/api/v1/users?limit={limit}");
            let auth = format!("SSWS {token}");
            std::thread::spawn(move || -> anyhow::Result<()> {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()?;
                let mut url = first.clone();
                while !stop.load(Ordering::Relaxed) {
                    let resp = client.get(&url).header("Authorization", &auth).send()?;
                    anyhow::ensure!(resp.status() == 200, "status {}", resp.status());
                    url = next_link(&resp).unwrap_or_else(|| first.clone());
                    bytes.fetch_add(resp.bytes()?.len() as u64, Ordering::Relaxed);
                    pages.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = pages.load(Ordering::Relaxed);
    println!(
        "{:.0} {} {:.1}",
        n as f64 / secs,
        n,
        bytes.load(Ordering::Relaxed) as f64 / secs / 1e6
    );
    Ok(())
}
