//! The OneLogin account a sandbox starts with, deterministic from the seed.
//!
//! A migration target is rarely empty: this one has the account owner (who cannot be
//! modified), default roles, a few users, roles, apps and custom attributes of its own, and
//! the objects of the Okta seed it "already has" (the [`Collisions`]), so every run of the
//! loader meets existing users, roles and attributes and must be idempotent.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Map;
use time::OffsetDateTime;
use time::macros::datetime;

use super::model::{
    App, Attr, F_COMPANY, F_DEPARTMENT, F_EMAIL, F_FIRSTNAME, F_LASTNAME, F_TITLE, F_USERNAME,
    Role, T_ACTIVATED, T_LAST_LOGIN, T_PASSWORD_CHANGED, Tenant, User, connector,
};
use super::users::humanize;
use super::{Collisions, OneLoginConfig, fmt_time};

/// Custom attributes the account defines on its own.
const OWN_ATTRIBUTES: &[(&str, &str)] = &[
    ("Badge Number", "badge_number"),
    ("Legacy UID", "legacy_uid"),
    ("Parking Spot", "parking_spot"),
];
const DEFAULT_ROLES: &[&str] = &["Default", "Administrators"];
const OWN_ROLES: &[&str] = &["Employee", "Finance (OneLogin)", "Sales EMEA"];

/// first, last, username, has email, status, badge.
type OwnUser = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    i64,
    Option<&'static str>,
);
const OWN_USERS: &[OwnUser] = &[
    ("Ingrid", "Admin", "it.admin", true, 1, Some("B-0001")),
    ("Zoë", "Ångström", "zoe.angstrom", true, 1, Some("B-0417")),
    ("Backup", "Service", "svc-backup", false, 1, None),
    ("José", "Núñez", "jose.nunez", true, 7, Some("")),
    ("Mei", "王", "mei.wang", true, 2, Some("B-0933")),
    ("Tom", "O'Neil", "tom.oneil", true, 3, None),
];

pub(super) fn tenant(cfg: &OneLoginConfig, collisions: &Collisions) -> Tenant {
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x0e10_9100_5eed);
    let base: OffsetDateTime = datetime!(2023-03-01 09:00:00 UTC);
    let at = |hours: i64| fmt_time(base + time::Duration::hours(hours));
    let first_user = 31_400_000 + rng.random_range(0..100_000u64);
    let mut t = Tenant {
        account_id: 100_000 + cfg.seed % 900_000,
        owner_id: first_user,
        users: HashMap::new(),
        order: Vec::new(),
        by_email: HashMap::new(),
        by_username: HashMap::new(),
        roles: Default::default(),
        apps: Default::default(),
        attrs: Vec::new(),
        next_user_id: first_user,
        next_role_id: 250_000 + rng.random_range(0..10_000u64),
        next_app_id: 1_060_000 + rng.random_range(0..10_000u64),
        next_attr_id: 87_800 + rng.random_range(0..100u64),
        next_param_id: 237_800 + rng.random_range(0..100u64),
        rng,
        token: None,
    };

    // Custom attributes: the account's own, then the colliding ones.
    let own = OWN_ATTRIBUTES
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()));
    let colliding = collisions
        .attribute_shortnames
        .iter()
        .map(|s| (humanize(s), s.clone()));
    for (name, shortname) in own.chain(colliding) {
        if t.attrs
            .iter()
            .any(|a| a.shortname.eq_ignore_ascii_case(&shortname))
        {
            continue;
        }
        let position = t.attrs.len() as i64 + 1;
        t.attrs.push(Attr {
            id: t.next_attr_id,
            name,
            shortname,
            position: Some(position),
        });
        t.next_attr_id += 1;
    }

    // Roles.
    let role_names = DEFAULT_ROLES
        .iter()
        .chain(OWN_ROLES)
        .map(|s| s.to_string())
        .chain(collisions.role_names.iter().cloned());
    for name in role_names {
        if t.roles.values().any(|r| r.name == name) {
            continue;
        }
        let id = t.next_role_id;
        t.next_role_id += 1;
        t.roles.insert(
            id,
            Role {
                id,
                name,
                apps: Default::default(),
                users: Default::default(),
                admins: Default::default(),
            },
        );
    }
    let role_id = |t: &Tenant, name: &str| t.roles.values().find(|r| r.name == name).map(|r| r.id);

    // The account owner.
    let domain = format!("{}.example.com", cfg.subdomain);
    let mut owner = User::new(t.next_user_id, &at(0));
    owner.set_str(F_USERNAME, Some("owner".into()));
    owner.set_str(F_EMAIL, Some(format!("owner@{domain}")));
    owner.set_str(F_FIRSTNAME, Some("Account".into()));
    owner.set_str(F_LASTNAME, Some("Owner".into()));
    owner.set_str(F_TITLE, Some("IT Director".into()));
    owner.status = 1;
    owner.times[T_ACTIVATED] = Some(at(0).into());
    owner.times[T_LAST_LOGIN] = Some(at(24 * 400).into());
    owner.times[T_PASSWORD_CHANGED] = Some(at(1).into());
    t.next_user_id += 1;
    let owner_id = owner.id;
    t.insert_user(owner);

    // Users of its own.
    let badge = t.attr_by_shortname("badge_number").map(|a| a.id);
    for (i, (first, last, username, has_email, status, badge_value)) in OWN_USERS.iter().enumerate()
    {
        let hour = 24 * (i as i64 + 1);
        let mut u = User::new(t.next_user_id, &at(hour));
        u.set_str(F_USERNAME, Some(username.to_string()));
        if *has_email {
            u.set_str(F_EMAIL, Some(format!("{username}@{domain}")));
        }
        u.set_str(F_FIRSTNAME, Some(first.to_string()));
        u.set_str(F_LASTNAME, Some(last.to_string()));
        u.set_str(
            F_DEPARTMENT,
            Some(if i % 2 == 0 { "IT" } else { "Finance" }.into()),
        );
        u.set_str(F_COMPANY, Some("Acme".into()));
        u.status = *status;
        if *status == 1 {
            u.times[T_ACTIVATED] = Some(at(hour).into());
            u.times[T_LAST_LOGIN] = Some(at(hour + 24 * 30).into());
        }
        if let (Some(b), Some(v)) = (badge, badge_value) {
            // An empty string is how an unset value looks in exports; store only real ones.
            if !v.is_empty() {
                u.set_custom(b, Some(v.to_string()));
            }
        }
        let step = t.rng.random_range(1..=5);
        t.next_user_id += step;
        t.insert_user(u);
    }

    // Users of the Okta seed the account already has.
    for (i, c) in collisions.users.iter().enumerate() {
        let email = c.email.trim();
        let username = c.username.trim();
        let taken = (!email.is_empty() && t.by_email.contains_key(&email.to_lowercase()))
            || (!username.is_empty() && t.by_username.contains_key(&username.to_lowercase()));
        if taken || (email.is_empty() && username.is_empty()) {
            continue;
        }
        let hour = 24 * (10 + i as i64);
        let mut u = User::new(t.next_user_id, &at(hour));
        u.set_str(
            F_USERNAME,
            (!username.is_empty()).then(|| username.to_string()),
        );
        u.set_str(F_EMAIL, (!email.is_empty()).then(|| email.to_string()));
        u.set_str(F_FIRSTNAME, Some(c.firstname.clone()));
        u.set_str(F_LASTNAME, Some(c.lastname.clone()));
        u.status = 1;
        u.times[T_ACTIVATED] = Some(at(hour).into());
        let step = t.rng.random_range(1..=5);
        t.next_user_id += step;
        t.insert_user(u);
    }

    // Memberships.
    let stamp = at(2);
    if let Some(r) = role_id(&t, "Default") {
        t.add_role_users(r, &[owner_id], &stamp);
    }
    if let Some(r) = role_id(&t, "Administrators") {
        let admins: Vec<u64> = t.order.iter().copied().take(2).collect();
        t.add_role_users(r, &admins, &stamp);
    }
    if let Some(r) = role_id(&t, "Employee") {
        let members: Vec<u64> = t
            .order
            .iter()
            .copied()
            .skip(1)
            .enumerate()
            .filter(|(i, _)| i % 3 != 2)
            .map(|(_, id)| id)
            .collect();
        t.add_role_users(r, &members, &stamp);
    }
    t.owner_id = owner_id;
    source_users(&mut t, cfg.source_users, &domain, &at);

    // Apps of its own.
    let apps: [(u64, &str, &[&str]); 2] = [
        (29935, "Intranet", &["Default", "Employee"]),
        (110016, "Legacy Expense Portal", &["Finance (OneLogin)"]),
    ];
    for (i, (connector_id, name, roles)) in apps.into_iter().enumerate() {
        let Some(conn) = connector(connector_id) else {
            continue;
        };
        let id = t.next_app_id;
        t.next_app_id += t.rng.random_range(1..=9);
        let mut app = App {
            id,
            connector_id,
            auth_method: conn.auth_method,
            name: name.into(),
            description: String::new(),
            notes: None,
            visible: true,
            policy_id: None,
            brand_id: None,
            allow_assumed_signin: false,
            provisioning_enabled: false,
            configuration: super::apps::default_configuration(conn),
            parameters: Map::new(),
            sso: Map::new(),
            role_ids: Default::default(),
            created_at: at(3 + i as i64),
            updated_at: at(3 + i as i64),
        };
        for (short, label, mapping) in conn.params {
            let pid = t.next_param_id;
            t.next_param_id += 1;
            app.parameters.insert(
                short.to_string(),
                super::apps::new_parameter(pid, label, mapping),
            );
        }
        app.sso = super::apps::sso(&mut t, &app, &cfg.subdomain);
        t.apps.insert(id, app);
        let role_ids: Vec<u64> = roles.iter().filter_map(|r| role_id(&t, r)).collect();
        t.set_app_roles(id, &role_ids);
    }
    source_roles_and_apps(&mut t, cfg, &at);
    t
}

/// (state, status) of the first generated users: every state and every status appear.
const STATE_STATUS: &[(i64, i64)] = &[
    (1, 1),
    (0, 0),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 7),
    (1, 8),
    (2, 0),
    (3, 1),
    (0, 7),
    (3, 2),
];
const SOURCE_FIRST: &[&str] = &[
    "Ana", "Bjørn", "Chloé", "Dmitri", "Émile", "Fatima", "György", "Hana", "Ilse", "Jürgen",
    "Keiko", "Lars", "María", "Nnamdi", "Oona", "Priya", "Quentin", "Rūta", "Søren", "Tomás",
];
const SOURCE_LAST: &[&str] = &[
    "Álvarez",
    "Brennan",
    "Çelik",
    "Dubois",
    "Eriksen",
    "Fernández",
    "Grün",
    "Håkansson",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrović",
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Engineering",
    "Finance",
    "Support",
    "Marketing",
    "HR",
];

/// `n` generated users for a source account, deterministic from the tenant's rng: the
/// first twelve cover every state and status, the rest are mostly active; about one in
/// nine has no email (username only) and active ones have a password.
fn source_users(t: &mut Tenant, n: u64, domain: &str, at: &dyn Fn(i64) -> String) {
    let badge = t.attr_by_shortname("badge_number").map(|a| a.id);
    let legacy = t.attr_by_shortname("legacy_uid").map(|a| a.id);
    for i in 0..n {
        let hour = 24 * 60 + i as i64;
        let mut u = User::new(t.next_user_id, &at(hour));
        let first = SOURCE_FIRST[(i as usize) % SOURCE_FIRST.len()];
        let last = SOURCE_LAST[(i as usize / SOURCE_FIRST.len()) % SOURCE_LAST.len()];
        let username = format!("user{i:05}");
        u.set_str(F_USERNAME, Some(username.clone()));
        if i % 9 != 8 {
            u.set_str(F_EMAIL, Some(format!("{username}@src.{domain}")));
        }
        u.set_str(F_FIRSTNAME, Some(first.into()));
        u.set_str(F_LASTNAME, Some(last.into()));
        u.set_str(
            F_DEPARTMENT,
            Some(DEPARTMENTS[(i as usize) % DEPARTMENTS.len()].into()),
        );
        u.set_str(F_COMPANY, Some("Acme".into()));
        if i % 4 == 0 {
            u.set_str(F_TITLE, Some(format!("Specialist {}", i % 7 + 1)));
        }
        let (state, status) =
            STATE_STATUS
                .get(i as usize)
                .copied()
                .unwrap_or(match t.rng.random_range(0..20) {
                    0 => (1, 2),
                    1 => (1, 7),
                    2 => (3, 1),
                    _ => (1, 1),
                });
        u.state = state;
        u.status = status;
        if status != 7 && status != 0 {
            u.times[T_ACTIVATED] = Some(at(hour).into());
            // a password whose clear text nobody knows, as a real account's would be
            let salt: [u8; 8] = t.rng.random();
            let digest: [u8; 32] = t.rng.random();
            u.password = Some(Box::new(super::model::Password {
                algorithm: "salt+sha256".into(),
                salt: hex::encode(salt),
                hash: hex::encode(digest),
            }));
            u.times[T_PASSWORD_CHANGED] = Some(at(hour + 1).into());
        }
        if status == 1 && i % 3 != 0 {
            u.times[T_LAST_LOGIN] = Some(at(hour + 24 * 7).into());
        }
        if let Some(b) = badge
            && i % 2 == 0
        {
            u.set_custom(b, Some(format!("S-{i:05}")));
        }
        if let Some(l) = legacy
            && i % 5 == 0
        {
            u.set_custom(l, Some(format!("legacy-{}", i * 7)));
        }
        let step = t.rng.random_range(1..=5);
        t.next_user_id += step;
        t.insert_user(u);
    }
}

/// For a source account: one role per five generated users (so role lists page at the
/// default 50 from 250 users on) with members spread over them, and one app per twenty
/// generated users, made from the vendor catalogue and assigned to roles.
fn source_roles_and_apps(t: &mut Tenant, cfg: &OneLoginConfig, at: &dyn Fn(i64) -> String) {
    let n = cfg.source_users;
    if n == 0 {
        return;
    }
    let generated: Vec<u64> = t
        .order
        .iter()
        .copied()
        .filter(|id| {
            t.users
                .get(id)
                .and_then(|u| u.str(F_USERNAME))
                .is_some_and(|u| {
                    u.starts_with("user") && u[4..].bytes().all(|b| b.is_ascii_digit())
                })
        })
        .collect();
    let roles = (n / 5).max(1);
    let mut role_ids = Vec::new();
    for r in 0..roles {
        let id = t.next_role_id;
        t.next_role_id += 1;
        t.roles.insert(
            id,
            Role {
                id,
                name: format!(
                    "{} Team {:03}",
                    DEPARTMENTS[r as usize % DEPARTMENTS.len()],
                    r + 1
                ),
                apps: Default::default(),
                users: Default::default(),
                admins: Default::default(),
            },
        );
        role_ids.push(id);
    }
    let stamp = at(24 * 61);
    for (k, uid) in generated.iter().enumerate() {
        // 0 to 3 roles each
        let count = k % 4;
        for j in 0..count {
            let r = role_ids[(k * 7 + j * 13) % role_ids.len()];
            t.add_role_users(r, &[*uid], &stamp);
        }
    }
    let catalogue = super::model::connectors();
    for a in 0..(n / 20).max(1) {
        let conn = catalogue[(a as usize * 11 + 3) % catalogue.len()];
        let id = t.next_app_id;
        t.next_app_id += t.rng.random_range(1..=9);
        let mut app = App {
            id,
            connector_id: conn.id,
            auth_method: conn.auth_method,
            name: if a < catalogue.len() as u64 {
                conn.name.to_string()
            } else {
                format!("{} {}", conn.name, a + 1)
            },
            description: String::new(),
            notes: None,
            visible: a % 5 != 4,
            policy_id: None,
            brand_id: None,
            allow_assumed_signin: false,
            provisioning_enabled: a % 3 == 0,
            configuration: super::apps::default_configuration(&conn),
            parameters: Map::new(),
            sso: Map::new(),
            role_ids: Default::default(),
            created_at: at(24 * 62 + a as i64),
            updated_at: at(24 * 62 + a as i64),
        };
        for (short, label, mapping) in conn.params {
            let pid = t.next_param_id;
            t.next_param_id += 1;
            app.parameters.insert(
                short.to_string(),
                super::apps::new_parameter(pid, label, mapping),
            );
        }
        app.sso = super::apps::sso(t, &app, &cfg.subdomain);
        t.apps.insert(id, app);
        let assigned: Vec<u64> = (0..(a % 3 + 1))
            .map(|j| role_ids[((a + j * 5) as usize) % role_ids.len()])
            .collect();
        t.set_app_roles(id, &assigned);
    }
}
