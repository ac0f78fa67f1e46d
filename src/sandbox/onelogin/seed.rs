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
    t
}
