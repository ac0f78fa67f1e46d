//! Load generator for `bench/sandbox-onelogin.sh`: drives the sandbox's OneLogin side over
//! HTTP with N client threads sharing one token, in three phases, and prints one line each:
//!
//! 1. `create USERS SECONDS PER_S`: `POST /api/2/users` of USERS users (with a custom
//!    attribute), split over the threads;
//! 2. `lookup N SECONDS PER_S`: `GET /api/2/users?email=…` exact lookups for SECONDS (what a
//!    loader does before every create);
//! 3. `list PAGES SECONDS PER_S`: the users list walked page by page by `After-Cursor`
//!    (limit 100), starting over at the end, for SECONDS.
//!
//! Usage: `onelogin_load ONELOGIN_URL THREADS USERS SECONDS` with the credentials in
//! `IDM_ONELOGIN_CLIENT_ID` / `IDM_ONELOGIN_CLIENT_SECRET` (never in argv).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::blocking::Client;

fn client() -> anyhow::Result<Client> {
    Ok(Client::builder().timeout(Duration::from_secs(30)).build()?)
}

fn token(base: &str) -> anyhow::Result<String> {
    let id = std::env::var("IDM_ONELOGIN_CLIENT_ID").context("IDM_ONELOGIN_CLIENT_ID")?;
    let secret =
        std::env::var("IDM_ONELOGIN_CLIENT_SECRET").context("IDM_ONELOGIN_CLIENT_SECRET")?;
    let resp: serde_json::Value = client()?
        .post(format!("{base}/auth/oauth2/v2/token"))
        .basic_auth(id, Some(secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()?
        .error_for_status()?
        .json()?;
    resp["access_token"]
        .as_str()
        .map(str::to_string)
        .context("no access_token in the token response")
}

/// Run `work(thread, iteration)` on `threads` threads until it returns false or `stop` is set.
fn run(
    threads: usize,
    stop: &Arc<AtomicBool>,
    work: impl Fn(&Client, usize, u64) -> anyhow::Result<bool> + Send + Sync + 'static,
) -> anyhow::Result<(u64, f64)> {
    let done = Arc::new(AtomicU64::new(0));
    let work = Arc::new(work);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, done, work) = (stop.clone(), done.clone(), work.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let c = client()?;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && work(&c, t, i)? {
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    Ok((done.load(Ordering::Relaxed), start.elapsed().as_secs_f64()))
}

fn timed_stop(seconds: u64) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds));
        s.store(true, Ordering::Relaxed);
    });
    stop
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 5,
        "usage: onelogin_load ONELOGIN_URL THREADS USERS SECONDS (credentials in IDM_ONELOGIN_CLIENT_ID/_SECRET)"
    );
    let base = Arc::new(args[1].clone());
    let threads: usize = args[2].parse()?;
    let users: u64 = args[3].parse()?;
    let seconds: u64 = args[4].parse()?;
    let auth = Arc::new(format!("Bearer {}", token(&base)?));

    let attr = serde_json::json!({"user_field": {"name": "Bench", "shortname": "bench_attr"}});
    client()?
        .post(format!("{base}/api/2/users/custom_attributes"))
        .header("Authorization", auth.as_str())
        .json(&attr)
        .send()?;

    // 1. creates
    let per_thread = users.div_ceil(threads as u64);
    let (b, a) = (base.clone(), auth.clone());
    let (n, secs) = run(
        threads,
        &Arc::new(AtomicBool::new(false)),
        move |c, t, i| {
            if i >= per_thread {
                return Ok(false);
            }
            let k = t as u64 * per_thread + i;
            let body = serde_json::json!({
                "email": format!("bench{k}@example.com"), "username": format!("bench{k}"),
                "firstname": "Zoë", "lastname": format!("Bench{k}"),
                "custom_attributes": {"bench_attr": format!("v{k}")},
            });
            let resp = c
                .post(format!("{b}/api/2/users"))
                .header("Authorization", a.as_str())
                .json(&body)
                .send()?;
            anyhow::ensure!(resp.status() == 201, "create: status {}", resp.status());
            Ok(true)
        },
    )?;
    println!("create {n} {secs:.1} {:.0}", n as f64 / secs);

    // 2. exact email lookups
    let (b, a) = (base.clone(), auth.clone());
    let total = n;
    let (n, secs) = run(threads, &timed_stop(seconds), move |c, t, i| {
        let k = (i * 7919 + t as u64 * 104_729) % total.max(1);
        let resp = c
            .get(format!("{b}/api/2/users?email=bench{k}%40example.com"))
            .header("Authorization", a.as_str())
            .send()?;
        anyhow::ensure!(resp.status() == 200, "lookup: status {}", resp.status());
        Ok(true)
    })?;
    println!("lookup {n} {secs:.1} {:.0}", n as f64 / secs);

    // 3. list pages by After-Cursor
    let (b, a) = (base.clone(), auth.clone());
    let cursors: Arc<Vec<std::sync::Mutex<Option<String>>>> =
        Arc::new((0..threads).map(|_| std::sync::Mutex::new(None)).collect());
    let (n, secs) = run(threads, &timed_stop(seconds), move |c, t, _| {
        let mut cursor = cursors[t].lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let url = match cursor.as_deref() {
            Some(cur) => format!(
                "{b}/api/2/users?cursor={}",
                url::form_urlencoded::byte_serialize(cur.as_bytes()).collect::<String>()
            ),
            None => format!("{b}/api/2/users?limit=100"),
        };
        let resp = c.get(url).header("Authorization", a.as_str()).send()?;
        anyhow::ensure!(resp.status() == 200, "list: status {}", resp.status());
        *cursor = resp
            .headers()
            .get("after-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        resp.bytes()?;
        Ok(true)
    })?;
    println!("list {n} {secs:.1} {:.0}", n as f64 / secs);
    Ok(())
}
