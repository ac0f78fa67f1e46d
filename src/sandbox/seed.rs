//! The deterministic, realistically messy Okta tenant the sandbox starts with.
//!
//! Every object is a pure function of `(seed, index)`: user 41 of seed 7 is the same bytes on
//! every run and every machine, and can be produced without producing users 0..41. That is
//! what lets `idm-sandbox --emit-export` stream a million users to a file in constant memory,
//! and what makes two sandboxes with the same seed dump identically. The RNG is a local
//! splitmix64 rather than `rand`'s `StdRng`, whose output may change between `rand` versions.
//!
//! The mess is deliberate, because it is what real tenants contain and what breaks migrations:
//! every user status (incl. DEPROVISIONED), non-ASCII names, logins without `@`, shared email
//! prefixes, two accounts with the same email, empty strings and nulls, custom attributes of
//! mixed types (numbers, booleans, arrays, a nested object), users in zero to many groups,
//! APP_GROUP and BUILT_IN groups, and apps of four sign-on modes with their real settings.

use std::io::{self, Write};
use std::path::Path;

use crate::record::create_private_file;

use serde_json::{Map, Value, json};

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedConfig {
    /// Number of users (all statuses, DEPROVISIONED included).
    pub users: u64,
    /// Number of groups besides the built-in `Everyone`.
    pub groups: u64,
    /// Number of applications.
    pub apps: u64,
    pub seed: u64,
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            users: 50,
            groups: 8,
            apps: 4,
            seed: 1,
        }
    }
}

/// A small, stable pseudo-random generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Mix(u64);

impl Mix {
    /// A generator for one object: `parts` are mixed into the seed.
    pub fn new(parts: &[u64]) -> Mix {
        let mut m = Mix(0x9e37_79b9_7f4a_7c15);
        for p in parts {
            m.0 ^= p.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            m.next_u64();
        }
        m
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An Okta-shaped 20-character id: a 3-character type prefix, the index in base62 (so ids
/// sort in creation order, which is the order lists return them in), and 10 pseudo-random
/// characters.
pub fn okta_id(prefix: &str, seed: u64, kind: u64, index: u64) -> String {
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    let mut digits = [b'0'; 7];
    let mut n = index;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    id.push_str(std::str::from_utf8(&digits).unwrap_or("0000000"));
    let mut mix = Mix::new(&[seed, kind, index]);
    while id.len() < 20 {
        id.push(BASE62[mix.below(62) as usize] as char);
    }
    id
}

/// `YYYY-MM-DDTHH:mm:ss.SSSZ`, the only timestamp format Okta writes.
pub fn iso_millis(epoch_ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(epoch_ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
}

/// The current time as Okta writes it.
pub fn now_iso() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    iso_millis(ms)
}

const KIND_USER: u64 = 1;
const KIND_GROUP: u64 = 2;
const KIND_APP: u64 = 3;
const KIND_MEMBERS: u64 = 4;
const KIND_APP_USERS: u64 = 5;
const KIND_SIGNING: u64 = 6;

/// 2019-01-01T00:00:00Z: seeded objects were created after it.
const EPOCH_2019_MS: i64 = 1_546_300_800_000;
const DAY_MS: i64 = 86_400_000;

/// The user type every seeded user has.
pub const USER_TYPE_ID: &str = "oty1sandbox0default0";

pub const STATUSES: [&str; 8] = [
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "José",
    "Zoë",
    "Søren",
    "Aleksandr",
    "Chloé",
    "Mohammed",
    "Priya",
    "Nguyễn",
    "Élodie",
    "Björn",
    "Łukasz",
    "Siobhán",
    "Hiroshi",
    "Ana",
    "John",
    "Olga",
    "Fatima",
    "Li",
    "Renée",
    "Jürgen",
    "Ayşe",
    "Dmitri",
    "Grace",
    "Wei",
    "Ингрид",
    "María",
    "Noah",
    "Emma",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "García",
    "Müller",
    "O'Brien",
    "Ødegård",
    "Nowak",
    "Kowalczyk",
    "Dubois",
    "Tanaka",
    "Johnson",
    "Van der Berg",
    "Silva",
    "Øster",
    "Иванова",
    "Lefèvre",
    "Brown",
    "王",
    "Nakamura",
    "Papadopoulos",
    "Haddad",
    "Fernández-López",
    "Kim",
    "Jones",
    "Rossi",
    "Şahin",
    "Ng",
    "Lee",
    "Williams",
    "de la Cruz",
    "Çelik",
];

const DOMAINS: &[&str] = &["example.com", "corp.example.com", "example.org"];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "Legal",
    "Human Resources",
    "Research & Development",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Account Executive",
    "Manager",
    "Director",
    "Analyst",
    "Intern",
    "VP, Sales",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("San Francisco", "CA", "US"),
    ("München", "BY", "DE"),
    ("São Paulo", "SP", "BR"),
    ("Kraków", "MA", "PL"),
    ("Tokyo", "13", "JP"),
    ("London", "", "GB"),
    ("Montréal", "QC", "CA"),
];
const LOCALES: &[&str] = &["en_US", "de_DE", "pt_BR", "fr_CA", "ja_JP", "en_GB"];
const SKILLS: &[&str] = &[
    "rust",
    "sql",
    "négociation",
    "python",
    "design",
    "okta",
    "k8s",
];

const GROUP_NAMES: &[&str] = &[
    "Engineering",
    "Sales - EMEA",
    "Sales - Americas",
    "Marketing",
    "Finance",
    "Support Tier 1",
    "Contractors",
    "Équipe Montréal",
    "All Staff",
    "VPN Users",
    "Admins",
    "Legal & Compliance",
];

/// The custom profile attributes seeded users carry, with their schema definitions. One of
/// them is a nested object, which no Okta schema type describes; its definition has no
/// `type` (declaring `object` would make the official SDK reject the whole schema).
pub fn custom_attributes() -> Vec<(String, Value)> {
    let perm = json!([{ "principal": "SELF", "action": "READ_WRITE" }]);
    let def = |title: &str, desc: &str, ty: &str, extra: Value| {
        let mut m = Map::new();
        m.insert("title".into(), json!(title));
        m.insert("description".into(), json!(desc));
        if !ty.is_empty() {
            m.insert("type".into(), json!(ty));
        }
        if let Value::Object(extra) = extra {
            m.extend(extra);
        }
        m.insert("required".into(), json!(false));
        m.insert("mutability".into(), json!("READ_WRITE"));
        m.insert("scope".into(), json!("NONE"));
        m.insert("permissions".into(), perm.clone());
        m.insert("master".into(), json!({ "type": "PROFILE_MASTER" }));
        Value::Object(m)
    };
    vec![
        (
            "workLocation".into(),
            def(
                "Work location",
                "Office or remote",
                "string",
                json!({"maxLength": 128}),
            ),
        ),
        (
            "badgeNumber".into(),
            def("Badge number", "Physical badge", "integer", json!({})),
        ),
        (
            "isContractor".into(),
            def("Contractor", "Not an employee", "boolean", json!({})),
        ),
        (
            "hourlyRate".into(),
            def("Hourly rate", "Contractors only", "number", json!({})),
        ),
        (
            "skills".into(),
            def(
                "Skills",
                "Free-form tags",
                "array",
                json!({"items": {"type": "string"}}),
            ),
        ),
        (
            "hireDate".into(),
            def(
                "Hire date",
                "First day",
                "string",
                json!({"format": "date-time"}),
            ),
        ),
        (
            "preferences".into(),
            def(
                "Preferences",
                "Nested settings (untyped: Okta schema types cannot describe an object)",
                "",
                json!({}),
            ),
        ),
    ]
}

/// What the seeded apps after the first four are, so that a connector suggestion meets
/// exact and near-miss names of a vendor catalogue (OneLogin's has "Salesforce", "Slack",
/// "Zoom", "Confluence", "Workday", …): (label, OIN-style app name) by sign-on mode. The
/// first round (apps 0–3) stays custom, as do all OIDC apps (in-house clients).
const VENDOR_SAML: &[(&str, &str)] = &[
    ("Salesforce", "salesforce"),
    ("Slack", "slack"),
    ("Zoom", "zoomus"),
    ("Atlassian Cloud", "atlassian"),
    ("ServiceNow", "servicenow_ud"),
];
const VENDOR_BOOKMARK: &[&str] = &["Confluence Wiki", "Workday Login", "Expensify"];
const VENDOR_SWA: &[(&str, &str)] = &[
    ("Zoom.us", "zoomus_swa"),
    ("ADP Workforce Now", "adp_wfn"),
    ("Dropbox", "dropbox"),
];

/// The vendor label (and name) of app `a`, when it has one.
fn vendor_app(a: u64) -> Option<(String, Option<&'static str>)> {
    let round = a / 4;
    if round == 0 {
        return None;
    }
    let pick = |len: usize| {
        let i = (round - 1) as usize;
        (i % len, i / len)
    };
    let numbered = |label: &str, again: usize| {
        if again == 0 {
            label.to_string()
        } else {
            format!("{label} {}", again + 1)
        }
    };
    match a % 4 {
        0 => {
            let (i, again) = pick(VENDOR_SAML.len());
            let (label, name) = VENDOR_SAML[i];
            Some((numbered(label, again), Some(name)))
        }
        2 => {
            let (i, again) = pick(VENDOR_BOOKMARK.len());
            Some((numbered(VENDOR_BOOKMARK[i], again), None))
        }
        3 => {
            let (i, again) = pick(VENDOR_SWA.len());
            let (label, name) = VENDOR_SWA[i];
            Some((numbered(label, again), Some(name)))
        }
        _ => None,
    }
}

/// Produces the seeded tenant object by object.
#[derive(Debug, Clone)]
pub struct Generator {
    cfg: SeedConfig,
    base_url: String,
    group_ids: Vec<String>,
}

/// What kind of group a seeded group is.
fn group_type(g: u64) -> &'static str {
    if g == 0 {
        "BUILT_IN"
    } else if g % 5 == 4 {
        "APP_GROUP"
    } else {
        "OKTA_GROUP"
    }
}

impl Generator {
    /// `base_url` is the org URL written into `_links`.
    pub fn new(cfg: SeedConfig, base_url: &str) -> Generator {
        let group_ids = (0..=cfg.groups)
            .map(|g| okta_id("00g", cfg.seed, KIND_GROUP, g))
            .collect();
        Generator {
            cfg,
            base_url: base_url.trim_end_matches('/').to_string(),
            group_ids,
        }
    }

    pub fn config(&self) -> SeedConfig {
        self.cfg
    }

    /// The custom schema properties: those the seeded users carry, so none in an empty
    /// org (`users: 0`), which is what a migration into Okta starts from.
    pub fn custom_attributes(&self) -> Vec<(String, Value)> {
        if self.cfg.users == 0 {
            Vec::new()
        } else {
            custom_attributes()
        }
    }

    pub fn user_id(&self, i: u64) -> String {
        okta_id("00u", self.cfg.seed, KIND_USER, i)
    }

    pub fn app_id(&self, a: u64) -> String {
        okta_id("0oa", self.cfg.seed, KIND_APP, a)
    }

    /// Group ids, `Everyone` first.
    pub fn group_ids(&self) -> &[String] {
        &self.group_ids
    }

    /// The status of user `i`: the first eight users cover every status, the rest follow a
    /// realistic spread (most ACTIVE, about 5% DEPROVISIONED).
    pub fn user_status(&self, i: u64) -> &'static str {
        if i < STATUSES.len() as u64 {
            return STATUSES[i as usize];
        }
        let r = Mix::new(&[self.cfg.seed, KIND_USER, i, 99]).below(100);
        match r {
            0..=69 => "ACTIVE",
            70..=76 => "STAGED",
            77..=81 => "PROVISIONED",
            82..=84 => "RECOVERY",
            85..=87 => "PASSWORD_EXPIRED",
            88..=90 => "LOCKED_OUT",
            91..=94 => "SUSPENDED",
            _ => "DEPROVISIONED",
        }
    }

    fn names(&self, i: u64) -> (&'static str, &'static str) {
        let mut mix = Mix::new(&[self.cfg.seed, KIND_USER, i, 1]);
        (*mix.pick(FIRST_NAMES), *mix.pick(LAST_NAMES))
    }

    /// The local part used for login and email: ASCII-folded, so logins stay simple even
    /// when names are not.
    fn handle(&self, i: u64) -> String {
        let (first, last) = self.names(i);
        let fold = |s: &str| -> String {
            s.chars()
                .filter_map(|c| match c {
                    'a'..='z' | '0'..='9' => Some(c),
                    'A'..='Z' => Some(c.to_ascii_lowercase()),
                    'é' | 'è' | 'ê' | 'É' | 'ë' => Some('e'),
                    'ü' | 'ú' => Some('u'),
                    'ö' | 'ø' | 'Ø' | 'ó' => Some('o'),
                    'ä' | 'á' | 'å' | 'ã' => Some('a'),
                    'ç' | 'Ç' => Some('c'),
                    'ł' | 'Ł' => Some('l'),
                    'ş' | 'Ş' => Some('s'),
                    'í' | 'ı' => Some('i'),
                    'ễ' => Some('e'),
                    _ => None,
                })
                .collect()
        };
        let (f, l) = (fold(first), fold(last));
        let f = if f.is_empty() { "user".to_string() } else { f };
        let l = if l.is_empty() { format!("u{i}") } else { l };
        format!("{f}.{l}")
    }

    /// The primary email of user `i`. Every 17th user shares the email of the user before it
    /// (two accounts, one mailbox); the rest share prefixes across domains.
    pub fn user_email(&self, i: u64) -> String {
        if i % 17 == 9 {
            return self.user_email(i - 1);
        }
        let mut mix = Mix::new(&[self.cfg.seed, KIND_USER, i, 2]);
        let domain = mix.pick(DOMAINS);
        format!("{}{}@{}", self.handle(i), i, domain)
    }

    /// The login of user `i`: usually the email, sometimes a bare short name without `@`,
    /// sometimes with upper-case letters.
    pub fn user_login(&self, i: u64) -> String {
        let mut mix = Mix::new(&[self.cfg.seed, KIND_USER, i, 3]);
        match mix.below(20) {
            0 | 1 => format!("{}{}", self.handle(i).replace('.', "_"), i),
            2 => {
                let h = self.handle(i);
                let mut c = h.chars();
                let cap: String = c
                    .next()
                    .map(|f| f.to_ascii_uppercase())
                    .into_iter()
                    .collect();
                format!("{cap}{}{i}@{}", c.as_str(), DOMAINS[0])
            }
            _ if i % 17 == 9 => format!("{}{}@alt.example.com", self.handle(i), i),
            _ => self.user_email(i),
        }
    }

    /// User `i` as `GET /api/v1/users` returns it.
    pub fn user(&self, i: u64) -> Value {
        let id = self.user_id(i);
        let status = self.user_status(i);
        let mut mix = Mix::new(&[self.cfg.seed, KIND_USER, i, 4]);
        let (first, last) = self.names(i);
        let created_ms =
            EPOCH_2019_MS + (i as i64 % 1500) * DAY_MS + mix.below(DAY_MS as u64) as i64;
        let updated_ms = created_ms + mix.below(400) as i64 * DAY_MS + mix.below(3_600_000) as i64;
        let created = iso_millis(created_ms);
        let last_updated = iso_millis(updated_ms);
        let activated = match status {
            "STAGED" => Value::Null,
            _ => json!(iso_millis(created_ms + 60_000)),
        };
        let status_changed = match status {
            "STAGED" => Value::Null,
            _ => json!(last_updated),
        };
        let last_login = match status {
            "ACTIVE" | "LOCKED_OUT" | "PASSWORD_EXPIRED" | "SUSPENDED" if mix.chance(80) => {
                json!(iso_millis(updated_ms - mix.below(DAY_MS as u64) as i64))
            }
            _ => Value::Null,
        };
        let has_password = !matches!(status, "STAGED" | "PROVISIONED") || mix.chance(20);
        let password_changed = if has_password {
            json!(iso_millis(created_ms + 120_000))
        } else {
            Value::Null
        };
        let email = self.user_email(i);
        let login = self.user_login(i);
        let (city, state, country) = *mix.pick(CITIES);

        let mut p = Map::new();
        p.insert("firstName".into(), json!(first));
        p.insert("lastName".into(), json!(last));
        p.insert(
            "mobilePhone".into(),
            match mix.below(4) {
                0 => Value::Null,
                1 => json!(""),
                _ => json!(format!("+1-555-{:03}-{:04}", mix.below(1000), i % 10000)),
            },
        );
        if mix.chance(30) {
            p.insert(
                "secondEmail".into(),
                if mix.chance(20) {
                    json!("")
                } else {
                    json!(format!("{}@personal.example.net", self.handle(i)))
                },
            );
        }
        p.insert("login".into(), json!(login));
        p.insert("email".into(), json!(email));
        if mix.chance(50) {
            p.insert("displayName".into(), json!(format!("{first} {last}")));
        }
        p.insert(
            "title".into(),
            if mix.chance(10) {
                json!("")
            } else {
                json!(mix.pick(TITLES))
            },
        );
        p.insert(
            "department".into(),
            if mix.chance(8) {
                Value::Null
            } else {
                json!(mix.pick(DEPARTMENTS))
            },
        );
        if mix.chance(60) {
            p.insert("city".into(), json!(city));
            p.insert("state".into(), json!(state));
            p.insert("countryCode".into(), json!(country));
        }
        if mix.chance(40) {
            p.insert("employeeNumber".into(), json!(format!("E{:06}", i)));
        }
        if mix.chance(35) {
            p.insert(
                "costCenter".into(),
                json!(format!("CC-{}", 100 + mix.below(20))),
            );
        }
        if mix.chance(30) {
            p.insert("organization".into(), json!("Example Corp"));
        }
        if mix.chance(50) {
            p.insert("locale".into(), json!(mix.pick(LOCALES)));
        }
        if mix.chance(15) {
            p.insert("middleName".into(), Value::Null);
        }
        if mix.chance(25) {
            p.insert(
                "manager".into(),
                json!(format!(
                    "{} {}",
                    mix.pick(FIRST_NAMES),
                    mix.pick(LAST_NAMES)
                )),
            );
            p.insert(
                "managerId".into(),
                json!(self.user_id(mix.below(self.cfg.users.max(1)))),
            );
        }
        // custom attributes
        if mix.chance(70) {
            p.insert(
                "workLocation".into(),
                if mix.chance(10) {
                    json!("")
                } else {
                    json!(if mix.chance(30) {
                        "Remote".to_string()
                    } else {
                        city.to_string()
                    })
                },
            );
        }
        if mix.chance(60) {
            p.insert("badgeNumber".into(), json!(1000 + i));
        }
        if mix.chance(50) {
            let contractor = mix.chance(25);
            p.insert("isContractor".into(), json!(contractor));
            if contractor {
                p.insert(
                    "hourlyRate".into(),
                    json!((mix.below(15000) as f64 / 100.0) + 25.5),
                );
            }
        }
        if mix.chance(40) {
            let n = mix.below(4);
            let skills: Vec<&str> = (0..n).map(|_| *mix.pick(SKILLS)).collect();
            p.insert("skills".into(), json!(skills));
        }
        if mix.chance(40) {
            p.insert(
                "hireDate".into(),
                json!(iso_millis(created_ms - 30 * DAY_MS)),
            );
        }
        if mix.chance(20) {
            p.insert(
                "preferences".into(),
                json!({ "theme": if mix.chance(50) { "dark" } else { "light" },
                        "notifications": { "email": mix.chance(50), "sms": Value::Null } }),
            );
        }

        let mut creds = Map::new();
        let provider = if i % 23 == 11 {
            json!({ "type": "FEDERATION", "name": "FEDERATION" })
        } else if i % 29 == 13 {
            json!({ "type": "ACTIVE_DIRECTORY", "name": "corp.example.com" })
        } else {
            json!({ "type": "OKTA", "name": "OKTA" })
        };
        if has_password && i % 23 != 11 {
            creds.insert("password".into(), json!({}));
        }
        if email.contains('@') && mix.chance(70) {
            creds.insert(
                "emails".into(),
                json!([{ "value": email, "status": if status == "ACTIVE" { "VERIFIED" } else { "UNVERIFIED" }, "type": "PRIMARY" }]),
            );
        }
        if mix.chance(30) {
            creds.insert(
                "recovery_question".into(),
                json!({ "question": "What is the name of your first pet?" }),
            );
        }
        creds.insert("provider".into(), provider);

        json!({
            "id": id,
            "status": status,
            "created": created,
            "activated": activated,
            "statusChanged": status_changed,
            "lastLogin": last_login,
            "lastUpdated": last_updated,
            "passwordChanged": password_changed,
            "type": { "id": USER_TYPE_ID },
            "profile": Value::Object(p),
            "credentials": Value::Object(creds),
            "_links": { "self": { "href": format!("{}/api/v1/users/{}", self.base_url, id) } }
        })
    }

    /// The groups user `i` is a member of, as indices into [`Generator::group_ids`]. Every
    /// user but a DEPROVISIONED one is in `Everyone`; on top of that 0 to 4 other groups
    /// (two on average), so three memberships per user in all.
    pub fn user_group_indices(&self, i: u64) -> Vec<u64> {
        if self.user_status(i) == "DEPROVISIONED" {
            return Vec::new();
        }
        let mut out = vec![0];
        if self.cfg.groups == 0 {
            return out;
        }
        let mut mix = Mix::new(&[self.cfg.seed, KIND_MEMBERS, i]);
        let n = mix.below(5).min(self.cfg.groups);
        while (out.len() as u64) < n + 1 {
            let g = 1 + mix.below(self.cfg.groups);
            if !out.contains(&g) {
                out.push(g);
            }
        }
        out[1..].sort_unstable();
        out
    }

    /// Group `g` (0 is `Everyone`) as `GET /api/v1/groups` returns it.
    pub fn group(&self, g: u64) -> Value {
        let id = &self.group_ids[g as usize];
        let ty = group_type(g);
        let created = iso_millis(EPOCH_2019_MS - 30 * DAY_MS + g as i64 * 3_600_000);
        let updated = iso_millis(EPOCH_2019_MS + 400 * DAY_MS + g as i64 * 3_600_000);
        let (name, description) = if g == 0 {
            (
                "Everyone".to_string(),
                json!("All users in your organization"),
            )
        } else {
            let base = GROUP_NAMES[(g as usize - 1) % GROUP_NAMES.len()];
            let round = (g - 1) / GROUP_NAMES.len() as u64;
            let name = if round == 0 {
                base.to_string()
            } else {
                format!("{base} {}", round + 1)
            };
            let desc = match g % 4 {
                0 => Value::Null,
                1 => json!(""),
                _ => json!(format!("Members of {name}")),
            };
            (name, desc)
        };
        let mut profile = Map::new();
        profile.insert("name".into(), json!(name));
        profile.insert("description".into(), description);
        let object_class = if ty == "APP_GROUP" {
            profile.insert("groupType".into(), json!("Security"));
            profile.insert(
                "samAccountName".into(),
                json!(name.replace(' ', "_").to_lowercase()),
            );
            profile.insert(
                "dn".into(),
                json!(format!("CN={name},OU=Groups,DC=corp,DC=example,DC=com")),
            );
            profile.insert(
                "windowsDomainQualifiedName".into(),
                json!(format!("CORP\\{}", name.replace(' ', "_"))),
            );
            profile.insert(
                "externalId".into(),
                json!(format!(
                    "{:032x}",
                    Mix::new(&[self.cfg.seed, KIND_GROUP, g]).next_u64()
                )),
            );
            json!(["okta:windows_security_principal"])
        } else {
            json!(["okta:user_group"])
        };
        let mut links = Map::new();
        links.insert(
            "logo".into(),
            json!([{ "name": "medium", "href": format!("{}/img/logos/groups/okta-medium.png", self.base_url), "type": "image/png" }]),
        );
        if ty == "APP_GROUP" {
            links.insert(
                "source".into(),
                json!({ "href": format!("{}/api/v1/apps/0oa0000000directory", self.base_url) }),
            );
        }
        links.insert(
            "users".into(),
            json!({ "href": format!("{}/api/v1/groups/{id}/users", self.base_url) }),
        );
        links.insert(
            "apps".into(),
            json!({ "href": format!("{}/api/v1/groups/{id}/apps", self.base_url) }),
        );
        json!({
            "id": id,
            "created": created,
            "lastUpdated": updated,
            "lastMembershipUpdated": updated,
            "objectClass": object_class,
            "type": ty,
            "profile": Value::Object(profile),
            "_links": Value::Object(links),
        })
    }

    /// App `a` as `GET /api/v1/apps` returns it; sign-on modes cycle SAML 2.0, OIDC,
    /// bookmark, SWA.
    pub fn app(&self, a: u64) -> Value {
        let id = self.app_id(a);
        let b = &self.base_url;
        let created = iso_millis(EPOCH_2019_MS + a as i64 * 7 * DAY_MS);
        let updated = iso_millis(EPOCH_2019_MS + (a as i64 * 7 + 300) * DAY_MS);
        let n = a / 4 + 1;
        let kid = {
            let mut mix = Mix::new(&[self.cfg.seed, KIND_SIGNING, a]);
            (0..43)
                .map(|_| BASE62[mix.below(62) as usize] as char)
                .collect::<String>()
        };
        let visibility = json!({ "autoLaunch": false, "autoSubmitToolbar": false,
            "hide": { "iOS": false, "web": false }, "appLinks": {} });
        let accessibility =
            json!({ "selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null });
        let notes = json!({ "admin": null, "enduser": null });
        let (name, label, mode, credentials, settings, link_name) = match a % 4 {
            0 => (
                format!("sandbox_examplesamlapp{n}_{}", a + 1),
                format!("Example SAML App {n}"),
                "SAML_2_0",
                json!({ "userNameTemplate": { "template": "${source.email}", "type": "BUILT_IN" },
                        "signing": { "kid": kid } }),
                json!({ "app": {}, "notifications": { "vpn": { "network": { "connection": "DISABLED" } } },
                    "signOn": {
                        "defaultRelayState": "",
                        "ssoAcsUrl": format!("https://sp{n}.example.com/saml/acs"),
                        "idpIssuer": "http://www.okta.com/${org.externalKey}",
                        "audience": format!("https://sp{n}.example.com/saml/metadata"),
                        "recipient": format!("https://sp{n}.example.com/saml/acs"),
                        "destination": format!("https://sp{n}.example.com/saml/acs"),
                        "subjectNameIdTemplate": "${user.userName}",
                        "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                        "responseSigned": true, "assertionSigned": true,
                        "signatureAlgorithm": "RSA_SHA256", "digestAlgorithm": "SHA256",
                        "honorForceAuthn": true, "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                        "spIssuer": null, "requestCompressed": false,
                        "allowMultipleAcsEndpoints": false, "acsEndpoints": [],
                        "samlAssertionLifetimeSeconds": 300,
                        "slo": { "enabled": false },
                        "attributeStatements": [
                            { "type": "EXPRESSION", "name": "email",
                              "namespace": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
                              "values": ["user.email"] },
                            { "type": "GROUP", "name": "groups",
                              "namespace": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                              "filterType": "STARTS_WITH", "filterValue": "Sales" } ] },
                    "notes": notes }),
                "example_saml_app_link",
            ),
            1 => (
                "oidc_client".to_string(),
                format!("Example OIDC Web App {n}"),
                "OPENID_CONNECT",
                json!({ "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
                        "signing": { "kid": kid },
                        "oauthClient": { "autoKeyRotation": true,
                            "client_id": format!("{}client", &id[..12]),
                            "token_endpoint_auth_method": "client_secret_basic",
                            "pkce_required": false } }),
                json!({ "app": {}, "notifications": { "vpn": { "network": { "connection": "DISABLED" } } },
                    "oauthClient": {
                        "client_uri": format!("https://app{n}.example.com"),
                        "logo_uri": null,
                        "redirect_uris": [format!("https://app{n}.example.com/oauth2/callback")],
                        "post_logout_redirect_uris": [format!("https://app{n}.example.com/")],
                        "response_types": ["code"],
                        "grant_types": ["authorization_code", "refresh_token"],
                        "application_type": "web",
                        "consent_method": "REQUIRED",
                        "issuer_mode": "ORG_URL",
                        "initiate_login_uri": format!("https://app{n}.example.com/login"),
                        "idp_initiated_login": { "mode": "DISABLED", "default_scope": [] },
                        "wildcard_redirect": "DISABLED" },
                    "notes": notes }),
                "oidc_client_link",
            ),
            2 => (
                "bookmark".to_string(),
                format!("Intranet Bookmark {n}"),
                "BOOKMARK",
                json!({ "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
                        "signing": {} }),
                json!({ "app": { "requestIntegration": false,
                            "url": format!("https://intranet{n}.example.com/home") },
                    "notifications": { "vpn": { "network": { "connection": "DISABLED" } } },
                    "notes": notes }),
                "login",
            ),
            _ => (
                format!("sandbox_swaapp{n}_{}", a + 1),
                format!("Legacy Portal {n} (SWA)"),
                "AUTO_LOGIN",
                json!({ "scheme": "EDIT_USERNAME_AND_PASSWORD",
                        "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
                        "revealPassword": false, "signing": {} }),
                json!({ "app": {},
                    "notifications": { "vpn": { "network": { "connection": "DISABLED" } } },
                    "signOn": { "loginUrl": format!("https://portal{n}.example.com/login"),
                                "redirectUrl": format!("https://portal{n}.example.com/home") },
                    "notes": notes }),
                "login",
            ),
        };
        let (name, label) = match vendor_app(a) {
            Some((vendor, key)) => (key.map(|k| k.to_string()).unwrap_or(name), vendor),
            None => (name, label),
        };
        let mut vis = visibility;
        vis["appLinks"] = json!({ link_name: true });
        let features: Vec<&str> = Vec::new();
        json!({
            "id": id,
            "name": name,
            "label": label,
            "status": "ACTIVE",
            "lastUpdated": updated,
            "created": created,
            "accessibility": accessibility,
            "visibility": vis,
            "features": features,
            "signOnMode": mode,
            "credentials": credentials,
            "settings": settings,
            "_links": {
                "appLinks": [{ "name": link_name,
                    "href": format!("{b}/home/{name}/{id}/{link_name}"), "type": "text/html" }],
                "groups": { "href": format!("{b}/api/v1/apps/{id}/groups") },
                "logo": [{ "name": "medium", "href": format!("{b}/assets/img/logos/default.png"), "type": "image/png" }],
                "users": { "href": format!("{b}/api/v1/apps/{id}/users") },
                "deactivate": { "href": format!("{b}/api/v1/apps/{id}/lifecycle/deactivate") },
                "self": { "href": format!("{b}/api/v1/apps/{id}") }
            }
        })
    }

    /// The groups app `a` is assigned to (indices), one to three of them; never `Everyone`
    /// for odd apps, always for every fourth.
    pub fn app_group_indices(&self, a: u64) -> Vec<u64> {
        let mut out = Vec::new();
        if a % 4 == 2 {
            out.push(0);
        }
        if self.cfg.groups > 0 {
            let mut mix = Mix::new(&[self.cfg.seed, KIND_APP, a, 1]);
            let n = 1 + mix.below(3);
            for _ in 0..n {
                let g = 1 + mix.below(self.cfg.groups);
                if !out.contains(&g) {
                    out.push(g);
                }
            }
        }
        out
    }

    /// The users app `a` is assigned to directly (indices): two per app, never DEPROVISIONED.
    pub fn app_user_indices(&self, a: u64) -> Vec<u64> {
        let mut out = Vec::new();
        if self.cfg.users == 0 {
            return out;
        }
        let mut mix = Mix::new(&[self.cfg.seed, KIND_APP_USERS, a]);
        for _ in 0..2 {
            let mut i = mix.below(self.cfg.users);
            for _ in 0..self.cfg.users {
                if self.user_status(i) != "DEPROVISIONED" {
                    break;
                }
                i = (i + 1) % self.cfg.users;
            }
            if self.user_status(i) != "DEPROVISIONED" && !out.contains(&i) {
                out.push(i);
            }
        }
        out.sort_unstable();
        out
    }

    /// Write the tenant as idm export records, in export order (attribute, group, user,
    /// membership, app, app_assignment), one user at a time. DEPROVISIONED users are left
    /// out unless `include_deprovisioned` (like a default export). Returns the record count.
    pub fn write_export(
        &self,
        out: &mut dyn Write,
        include_deprovisioned: bool,
    ) -> io::Result<u64> {
        let mut n = 0u64;
        let mut line = Vec::with_capacity(4096);
        let mut emit = |out: &mut dyn Write, kind: &str, id: &str, data: Value| -> io::Result<()> {
            line.clear();
            serde_json::to_writer(
                &mut line,
                &json!({ "kind": kind, "source": "okta", "id": id, "data": data }),
            )
            .map_err(io::Error::other)?;
            line.push(b'\n');
            out.write_all(&line)
        };
        for (name, def) in self.custom_attributes() {
            emit(out, "attribute", &name, attribute_data(&name, &def))?;
            n += 1;
        }
        for g in 0..=self.cfg.groups {
            emit(out, "group", &self.group_ids[g as usize], self.group(g))?;
            n += 1;
        }
        let keep = |i: u64| include_deprovisioned || self.user_status(i) != "DEPROVISIONED";
        for i in (0..self.cfg.users).filter(|&i| keep(i)) {
            emit(out, "user", &self.user_id(i), self.user(i))?;
            n += 1;
        }
        for i in (0..self.cfg.users).filter(|&i| keep(i)) {
            let uid = self.user_id(i);
            for g in self.user_group_indices(i) {
                let gid = &self.group_ids[g as usize];
                emit(
                    out,
                    "membership",
                    &format!("{gid}/{uid}"),
                    json!({ "group_id": gid, "user_id": uid }),
                )?;
                n += 1;
            }
        }
        for a in 0..self.cfg.apps {
            emit(out, "app", &self.app_id(a), self.app(a))?;
            n += 1;
        }
        for a in 0..self.cfg.apps {
            let aid = self.app_id(a);
            // As idm-export writes them: the Okta assignment object (ApplicationGroupAssignment
            // or AppUser, without `_links`, which need a server URL) plus the ids of the edge.
            for (priority, g) in self.app_group_indices(a).into_iter().enumerate() {
                let gid = &self.group_ids[g as usize];
                emit(
                    out,
                    "app_assignment",
                    &format!("{aid}/{gid}"),
                    json!({ "id": gid, "priority": priority, "profile": {},
                            "app_id": aid, "group_id": gid }),
                )?;
                n += 1;
            }
            for i in self.app_user_indices(a) {
                let uid = self.user_id(i);
                emit(
                    out,
                    "app_assignment",
                    &format!("{aid}/{uid}"),
                    json!({ "id": uid, "scope": "USER", "profile": {},
                            "app_id": aid, "user_id": uid }),
                )?;
                n += 1;
            }
        }
        out.flush()?;
        Ok(n)
    }
}

/// `idm-sandbox --emit-export PATH`: write the seeded tenant as export records to `path`
/// (created 0600; `-`: stdout), streamed. Returns the record count.
pub fn emit_export(
    cfg: SeedConfig,
    base_url: &str,
    path: &Path,
    include_deprovisioned: bool,
) -> io::Result<u64> {
    let generator = Generator::new(cfg, base_url);
    let mut out: Box<dyn Write> = if path.as_os_str() == "-" {
        Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout().lock()))
    } else {
        Box::new(io::BufWriter::with_capacity(
            1 << 20,
            create_private_file(path)?,
        ))
    };
    generator.write_export(&mut out, include_deprovisioned)
}

/// The `data` of an `attribute` record: the schema property with its name added, so a
/// record is self-contained.
pub fn attribute_data(name: &str, def: &Value) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Value::Object(d) = def {
        for (k, v) in d {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(users: u64) -> Generator {
        Generator::new(
            SeedConfig {
                users,
                groups: 8,
                apps: 4,
                seed: 7,
            },
            "http://127.0.0.1:1",
        )
    }

    #[test]
    fn ids_are_okta_shaped_and_sort_in_creation_order() {
        let g = generator(100);
        let ids: Vec<String> = (0..100).map(|i| g.user_id(i)).collect();
        assert!(ids.iter().all(|id| id.len() == 20 && id.starts_with("00u")));
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(g.group_ids()[0].starts_with("00g"));
        assert!(g.app_id(0).starts_with("0oa"));
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = generator(20).user(13).to_string();
        let b = generator(20).user(13).to_string();
        assert_eq!(a, b);
        let other = Generator::new(
            SeedConfig {
                seed: 8,
                ..generator(20).config()
            },
            "http://127.0.0.1:1",
        );
        assert_ne!(a, other.user(13).to_string());
    }

    #[test]
    fn the_mess_is_there() {
        let g = generator(400);
        let users: Vec<Value> = (0..400).map(|i| g.user(i)).collect();
        for s in STATUSES {
            assert!(users.iter().any(|u| u["status"] == s), "no {s} user");
        }
        assert!(
            users
                .iter()
                .any(|u| !u["profile"]["login"].as_str().unwrap().contains('@'))
        );
        let emails: Vec<&str> = users
            .iter()
            .map(|u| u["profile"]["email"].as_str().unwrap())
            .collect();
        let dup = emails
            .iter()
            .enumerate()
            .any(|(i, e)| emails[..i].contains(e));
        assert!(dup, "no two accounts share an email");
        assert!(users.iter().any(|u| u["profile"]["mobilePhone"].is_null()));
        assert!(users.iter().any(|u| u["profile"]["title"] == ""));
        assert!(users.iter().any(|u| u["profile"]["skills"].is_array()));
        assert!(
            users
                .iter()
                .any(|u| u["profile"]["preferences"].is_object())
        );
        assert!(
            users
                .iter()
                .any(|u| !u["profile"]["firstName"].as_str().unwrap().is_ascii())
        );
        let custom: Vec<String> = custom_attributes().into_iter().map(|(n, _)| n).collect();
        for name in &custom {
            assert!(
                users.iter().any(|u| u["profile"].get(name).is_some()),
                "no user has {name}"
            );
        }
    }

    #[test]
    fn about_three_memberships_per_user() {
        let g = generator(3000);
        let total: usize = (0..3000).map(|i| g.user_group_indices(i).len()).sum();
        let avg = total as f64 / 3000.0;
        assert!((2.5..3.5).contains(&avg), "average {avg}");
        assert!(
            g.user_group_indices(7).is_empty(),
            "user 7 is DEPROVISIONED"
        );
    }

    #[test]
    fn export_is_in_export_order_and_skips_deprovisioned() {
        let g = generator(30);
        let mut buf = Vec::new();
        let n = g.write_export(&mut buf, false).unwrap();
        let lines: Vec<Value> = buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, n);
        let order = [
            "attribute",
            "group",
            "user",
            "membership",
            "app",
            "app_assignment",
        ];
        let ranks: Vec<usize> = lines
            .iter()
            .map(|r| order.iter().position(|k| r["kind"] == *k).unwrap())
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
        assert!(lines.iter().all(|r| r["source"] == "okta"));
        assert!(
            !lines
                .iter()
                .any(|r| r["kind"] == "user" && r["data"]["status"] == "DEPROVISIONED")
        );
        let m = lines.iter().find(|r| r["kind"] == "membership").unwrap();
        assert_eq!(
            m["id"].as_str().unwrap(),
            format!(
                "{}/{}",
                m["data"]["group_id"].as_str().unwrap(),
                m["data"]["user_id"].as_str().unwrap()
            )
        );
    }
}
