//! The simulated OneLogin account: users, roles, apps, custom attribute definitions and
//! tokens, with the indexes the handlers need to stay O(page) at 100k users.
//!
//! Users are stored as compact structs (string fields in a fixed array, custom attribute
//! values by definition id) rather than JSON maps: a JSON map per user costs several KB and
//! the benchmarks load 100k of them. They are rendered on the way out in the field order of
//! OneLogin's own samples (onelogin-api.md §6.1).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use rand::rngs::StdRng;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

/// Writable string fields of a user, in output order (see [`User::strs`]).
pub(crate) const STR_FIELDS: [&str; 17] = [
    "username",
    "email",
    "firstname",
    "lastname",
    "title",
    "department",
    "company",
    "comment",
    "phone",
    "external_id",
    "distinguished_name",
    "member_of",
    "samaccountname",
    "userprincipalname",
    "manager_ad_id",
    "manager_user_id",
    "preferred_locale_code",
];
pub(crate) const F_USERNAME: usize = 0;
pub(crate) const F_EMAIL: usize = 1;
pub(crate) const F_FIRSTNAME: usize = 2;
pub(crate) const F_LASTNAME: usize = 3;
pub(crate) const F_TITLE: usize = 4;
pub(crate) const F_DEPARTMENT: usize = 5;
pub(crate) const F_COMPANY: usize = 6;
pub(crate) const F_EXTERNAL_ID: usize = 9;
pub(crate) const F_SAMACCOUNTNAME: usize = 12;
pub(crate) const F_MEMBER_OF: usize = 11;

/// Writable integer fields that may be null.
pub(crate) const OPT_INT_FIELDS: [&str; 3] = ["group_id", "directory_id", "trusted_idp_id"];

/// Read-only timestamps, in output order.
pub(crate) const TIME_FIELDS: [&str; 7] = [
    "activated_at",
    "created_at",
    "updated_at",
    "last_login",
    "password_changed_at",
    "invitation_sent_at",
    "locked_until",
];
pub(crate) const T_ACTIVATED: usize = 0;
pub(crate) const T_CREATED: usize = 1;
pub(crate) const T_UPDATED: usize = 2;
pub(crate) const T_LAST_LOGIN: usize = 3;
pub(crate) const T_PASSWORD_CHANGED: usize = 4;

/// A stored password: what a real account keeps to check a login later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Password {
    /// `salt+sha256` (hex SHA-256 of salt then password), `sha256+salt` (password then salt)
    /// or `bcrypt` (stored, not verifiable here).
    pub algorithm: String,
    pub salt: String,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    /// Only the string fields that are set, as (index into [`STR_FIELDS`], value): most of
    /// the 17 are empty, and 100k users must fit in a benchmark's memory.
    strs: Vec<(u8, Box<str>)>,
    pub opt_ints: [Option<i64>; 3],
    pub state: i64,
    pub status: i64,
    pub invalid_login_attempts: i64,
    pub times: [Option<Box<str>>; 7],
    /// Sorted role ids (kept in sync with [`Role::users`]).
    pub role_ids: Vec<u64>,
    /// Custom attribute values by definition id.
    pub custom: Vec<(u64, String)>,
    pub password: Option<Box<Password>>,
}

impl User {
    pub(crate) fn new(id: u64, now: &str) -> User {
        let mut times: [Option<Box<str>>; 7] = Default::default();
        times[T_CREATED] = Some(now.into());
        times[T_UPDATED] = Some(now.into());
        User {
            id,
            strs: Vec::new(),
            opt_ints: [None; 3],
            state: 1,
            status: 7,
            invalid_login_attempts: 0,
            times,
            role_ids: Vec::new(),
            custom: Vec::new(),
            password: None,
        }
    }

    pub(crate) fn str(&self, i: usize) -> Option<&str> {
        self.strs
            .iter()
            .find(|(f, _)| usize::from(*f) == i)
            .map(|(_, v)| &**v)
    }

    /// Set (or with `None` clear) the string field `i` of [`STR_FIELDS`].
    pub(crate) fn set_str(&mut self, i: usize, value: Option<String>) {
        self.strs.retain(|(f, _)| usize::from(*f) != i);
        if let (Some(v), Ok(f)) = (value, u8::try_from(i)) {
            self.strs.push((f, v.into_boxed_str()));
        }
    }

    pub(crate) fn custom_value(&self, attr_id: u64) -> Option<&str> {
        self.custom
            .iter()
            .find(|(id, _)| *id == attr_id)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn set_custom(&mut self, attr_id: u64, value: Option<String>) {
        self.custom.retain(|(id, _)| *id != attr_id);
        if let Some(v) = value {
            self.custom.push((attr_id, v));
        }
    }

    /// "First Last" as the roles service shows a member.
    pub(crate) fn display_name(&self) -> String {
        let first = self.str(F_FIRSTNAME).unwrap_or("");
        let last = self.str(F_LASTNAME).unwrap_or("");
        format!("{first} {last}").trim().to_string()
    }

    /// The user as `GET /api/2/users/{id}` returns it.
    pub(crate) fn view<'a>(&'a self, attrs: &'a [Attr]) -> UserView<'a> {
        UserView { user: self, attrs }
    }
}

/// Serializes a [`User`] with its custom attributes (every defined shortname, `null` when
/// unset, as in OneLogin's samples).
pub(crate) struct UserView<'a> {
    user: &'a User,
    attrs: &'a [Attr],
}

impl Serialize for UserView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.user;
        let mut m = s.serialize_map(Some(40))?;
        m.serialize_entry("id", &u.id)?;
        for (i, name) in STR_FIELDS.iter().enumerate().take(9) {
            m.serialize_entry(name, &u.str(i))?;
        }
        m.serialize_entry("state", &u.state)?;
        m.serialize_entry("status", &u.status)?;
        m.serialize_entry("group_id", &u.opt_ints[0])?;
        m.serialize_entry("role_ids", &u.role_ids)?;
        m.serialize_entry("directory_id", &u.opt_ints[1])?;
        m.serialize_entry("trusted_idp_id", &u.opt_ints[2])?;
        for (i, name) in STR_FIELDS.iter().enumerate().skip(9) {
            m.serialize_entry(name, &u.str(i))?;
        }
        m.serialize_entry("invalid_login_attempts", &u.invalid_login_attempts)?;
        for (name, v) in TIME_FIELDS.iter().zip(&u.times) {
            m.serialize_entry(name, v)?;
        }
        m.serialize_entry("custom_attributes", &CustomView(self))?;
        m.end()
    }
}

struct CustomView<'a>(&'a UserView<'a>);

impl Serialize for CustomView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.attrs.len()))?;
        for a in self.0.attrs {
            m.serialize_entry(&a.shortname, &self.0.user.custom_value(a.id))?;
        }
        m.end()
    }
}

/// A custom user field definition.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub id: u64,
    pub name: String,
    pub shortname: String,
    pub position: Option<i64>,
}

impl Attr {
    pub(crate) fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "shortname": self.shortname, "position": self.position})
    }
}

/// How and when a user was added to a role.
#[derive(Debug, Clone)]
pub(crate) struct Added {
    pub by: u64,
    pub at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub id: u64,
    pub name: String,
    pub apps: BTreeSet<u64>,
    pub users: BTreeMap<u64, Added>,
    pub admins: BTreeMap<u64, Added>,
}

impl Role {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name,
            "apps": self.apps.iter().collect::<Vec<_>>(),
            "users": self.users.keys().collect::<Vec<_>>(),
            "admins": self.admins.keys().collect::<Vec<_>>(),
        })
    }
}

/// One entry of the connector catalogue (`GET /api/2/connectors`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connector {
    pub id: u64,
    pub name: &'static str,
    pub auth_method: i64,
    pub allows_new_parameters: bool,
    pub icon: &'static str,
    /// Parameters every app of this connector has: (short name, label, mapping).
    pub params: &'static [(&'static str, &'static str, &'static str)],
}

impl Connector {
    pub(crate) fn to_json(self) -> Value {
        json!({
            "id": self.id, "name": self.name, "auth_method": self.auth_method,
            "allows_new_parameters": self.allows_new_parameters,
            "icon_url": format!("https://cdn-shadow.onlgn.net/images/icons/square/{}/old_original.png", self.icon),
        })
    }
}

const SAML_PARAMS: &[(&str, &str, &str)] = &[("email", "Email (SAML NameID)", "email")];
const AWS_PARAMS: &[(&str, &str, &str)] = &[
    ("email", "Email (SAML NameID)", "email"),
    ("role", "Role", "_macro_"),
];
const OIDC_PARAMS: &[(&str, &str, &str)] = &[("groups", "Groups", "")];
const FORM_PARAMS: &[(&str, &str, &str)] = &[
    ("username", "Username", "username"),
    ("password", "Password", ""),
];

/// The generic connectors and a few vendor ones, with their default parameters. Ids are this
/// simulator's own (onelogin-api.md §10.1: clients must look connectors up, never hard-code
/// ids); names and `auth_method`s follow real connectors.
const CORE_CONNECTORS: &[Connector] = &[
    Connector {
        id: 110016,
        name: "SAML Custom Connector (Advanced)",
        auth_method: 2,
        allows_new_parameters: true,
        icon: "samlcustomconnectoradvanced",
        params: SAML_PARAMS,
    },
    Connector {
        id: 110005,
        name: "SAML Test Connector (IdP w/ attr w/ sign response)",
        auth_method: 2,
        allows_new_parameters: true,
        icon: "samltestconnector",
        params: SAML_PARAMS,
    },
    Connector {
        id: 108419,
        name: "OpenId Connect (OIDC)",
        auth_method: 8,
        allows_new_parameters: true,
        icon: "openidconnect",
        params: OIDC_PARAMS,
    },
    Connector {
        id: 50534,
        name: "Amazon Web Services (AWS) Multi Role",
        auth_method: 2,
        allows_new_parameters: true,
        icon: "amazonwebservices3multirole",
        params: AWS_PARAMS,
    },
    Connector {
        id: 114099,
        name: "Amazon Connect",
        auth_method: 2,
        allows_new_parameters: false,
        icon: "amazonConnect",
        params: SAML_PARAMS,
    },
    Connector {
        id: 40617,
        name: "Salesforce",
        auth_method: 2,
        allows_new_parameters: false,
        icon: "salesforce",
        params: SAML_PARAMS,
    },
    Connector {
        id: 31043,
        name: "Slack",
        auth_method: 2,
        allows_new_parameters: false,
        icon: "slack",
        params: SAML_PARAMS,
    },
    Connector {
        id: 46012,
        name: "Zoom",
        auth_method: 2,
        allows_new_parameters: false,
        icon: "zoom",
        params: SAML_PARAMS,
    },
    Connector {
        id: 30112,
        name: "Form-Based App",
        auth_method: 6,
        allows_new_parameters: true,
        icon: "formbasedapp",
        params: FORM_PARAMS,
    },
    Connector {
        id: 29935,
        name: "Bookmark",
        auth_method: 0,
        allows_new_parameters: false,
        icon: "bookmark",
        params: &[],
    },
    Connector {
        id: 29936,
        name: "Bookmark (Relative URL)",
        auth_method: 0,
        allows_new_parameters: false,
        icon: "bookmarkrelative",
        params: &[],
    },
    Connector {
        id: 35311,
        name: "WS-Fed Custom Connector",
        auth_method: 7,
        allows_new_parameters: false,
        icon: "wsfedcustom",
        params: &[],
    },
    Connector {
        id: 27741,
        name: "Google Workspace",
        auth_method: 4,
        allows_new_parameters: false,
        icon: "googleapps",
        params: &[],
    },
];

/// More vendor connectors: (id, name, auth_method, allows_new_parameters). Enough of them
/// that the catalogue spans several pages, with exact and near-miss names of the apps the
/// Okta seed carries ("Salesforce" and "Salesforce Sandbox", "Confluence" for "Confluence
/// Wiki", "Workday" for "Workday Login", "Zoom" for "Zoom.us", …), so a connector
/// suggestion has real choices to make. Names are real products; ids and flags are ours.
const VENDOR_CONNECTORS: &[(u64, &str, i64, bool)] = &[
    (40618, "Salesforce Sandbox", 2, false),
    (40619, "Salesforce Communities", 2, false),
    (31044, "Slack Enterprise Grid", 2, false),
    (46013, "Zoom Rooms", 2, false),
    (52001, "Workday", 2, false),
    (52002, "Workday Sandbox", 2, false),
    (52010, "ServiceNow", 2, true),
    (52011, "ServiceNow (Custom Domain)", 2, true),
    (52020, "Atlassian Cloud", 2, false),
    (52021, "Jira Service Management", 2, false),
    (52022, "Confluence", 2, false),
    (52023, "Jira", 2, false),
    (52030, "Box", 2, false),
    (52031, "Dropbox Business", 2, false),
    (52032, "Dropbox", 6, false),
    (52033, "Egnyte", 2, false),
    (52034, "Citrix ShareFile", 2, false),
    (52040, "GitHub Enterprise Cloud - Organization", 2, false),
    (52041, "GitHub Enterprise Server", 2, false),
    (52042, "GitLab", 2, true),
    (52043, "Bitbucket", 6, false),
    (52050, "Microsoft 365", 7, false),
    (52051, "Yammer", 2, false),
    (52052, "AWS Single-Account Access", 2, true),
    (52053, "Google Cloud", 4, false),
    (52060, "DocuSign", 2, false),
    (52061, "Adobe Creative Cloud", 2, false),
    (52062, "Adobe Sign", 2, false),
    (52063, "Asana", 2, false),
    (52064, "Trello", 2, false),
    (52065, "Monday.com", 2, false),
    (52066, "Notion", 2, false),
    (52067, "Miro", 2, false),
    (52068, "Smartsheet", 2, false),
    (52069, "Airtable", 2, false),
    (52070, "Tableau Online", 2, true),
    (52071, "Tableau Server", 2, true),
    (52072, "Looker", 2, true),
    (52073, "Snowflake", 2, false),
    (52074, "Datadog", 2, false),
    (52075, "New Relic", 2, false),
    (52076, "PagerDuty", 2, false),
    (52077, "Splunk Cloud", 2, true),
    (52078, "Sumo Logic", 2, false),
    (52080, "Zendesk", 2, false),
    (52081, "Freshdesk", 2, false),
    (52082, "HubSpot", 2, false),
    (52083, "Marketo", 2, true),
    (52084, "Intercom", 2, false),
    (52085, "Gong", 2, false),
    (52086, "Outreach", 2, false),
    (52087, "Salesloft", 2, false),
    (52090, "NetSuite", 2, true),
    (52091, "SAP SuccessFactors", 2, true),
    (52092, "SAP Concur", 2, false),
    (52093, "Coupa", 2, false),
    (52094, "Expensify", 2, false),
    (52095, "ADP Workforce Now", 2, false),
    (52096, "ADP Portal", 6, false),
    (52097, "BambooHR", 2, false),
    (52098, "Greenhouse", 2, false),
    (52099, "Lever", 2, false),
    (52100, "Gusto", 6, false),
    (52101, "Rippling", 2, false),
    (52110, "Cisco Webex", 2, false),
    (52111, "RingCentral", 2, false),
    (52112, "8x8", 2, false),
    (52113, "Microsoft Teams", 7, false),
    (52114, "Loom", 2, false),
    (52115, "Vimeo", 2, false),
    (52120, "Zscaler Internet Access", 2, true),
    (52121, "Palo Alto Networks GlobalProtect", 2, true),
    (52122, "Cloudflare Access", 2, true),
    (52123, "Cisco AnyConnect", 2, true),
    (52124, "1Password Business", 2, false),
    (52125, "LastPass Enterprise", 2, false),
    (52126, "Keeper Security", 2, false),
    (52127, "Jamf Pro", 2, false),
    (52128, "Kandji", 2, false),
    (52130, "Figma", 2, false),
    (52131, "Canva", 2, false),
    (52132, "Lucidchart", 2, false),
    (52133, "Grammarly", 2, false),
    (52134, "LinkedIn Learning", 2, false),
    (52135, "Udemy Business", 2, false),
    (52136, "Coursera", 2, false),
    (52140, "Twilio", 2, false),
    (52141, "SendGrid", 2, false),
    (52142, "Mailchimp", 6, false),
    (52143, "Oracle Cloud", 2, true),
    (52144, "Workplace from Meta", 2, false),
    (52150, "SCIM Provisioner with SAML (SCIM v2 Core)", 2, true),
    (
        52151,
        "SCIM Provisioner with SAML (Core Schema v1.1)",
        2,
        true,
    ),
    (52152, "SAML Custom Connector (SP Shibboleth)", 2, true),
    (52153, "OpenId Connect (OIDC) - Public", 8, true),
];

/// The whole catalogue, in id order (as `GET /api/2/connectors` lists it).
pub(crate) fn connectors() -> &'static [Connector] {
    static ALL: std::sync::OnceLock<Vec<Connector>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<Connector> = CORE_CONNECTORS.to_vec();
        for (id, name, auth_method, allows_new_parameters) in VENDOR_CONNECTORS {
            let icon: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            all.push(Connector {
                id: *id,
                name,
                auth_method: *auth_method,
                allows_new_parameters: *allows_new_parameters,
                // built once per process: a few KB that live as long as the catalogue
                icon: Box::leak(icon.into_boxed_str()),
                params: match auth_method {
                    2 => SAML_PARAMS,
                    6 => FORM_PARAMS,
                    8 => OIDC_PARAMS,
                    _ => &[],
                },
            });
        }
        all.sort_by_key(|c| c.id);
        all
    })
}

pub(crate) fn connector(id: u64) -> Option<&'static Connector> {
    connectors().iter().find(|c| c.id == id)
}

/// `auth_method_description` of an app summary.
pub(crate) fn auth_method_description(m: i64) -> &'static str {
    match m {
        0 => "Password",
        1 => "OpenId",
        2 => "SAML2.0",
        3 => "API",
        4 => "Google",
        6 => "Forms Based App",
        7 => "WS-Federation",
        8 => "OpenId Connect",
        _ => "Other",
    }
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub id: u64,
    pub connector_id: u64,
    pub auth_method: i64,
    pub name: String,
    pub description: String,
    pub notes: Option<String>,
    pub visible: bool,
    pub policy_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub allow_assumed_signin: bool,
    pub provisioning_enabled: bool,
    pub configuration: Map<String, Value>,
    pub parameters: Map<String, Value>,
    /// Full `sso` object; an OIDC `client_secret` is shown only in the create response.
    pub sso: Map<String, Value>,
    pub role_ids: BTreeSet<u64>,
    pub created_at: String,
    pub updated_at: String,
}

impl App {
    /// The app as `GET /api/2/apps/{id}` returns it (`with_secret` for the create response).
    pub(crate) fn to_json(&self, with_secret: bool) -> Value {
        let mut sso = self.sso.clone();
        if !with_secret {
            sso.remove("client_secret");
        }
        let icon = connector(self.connector_id).map_or(
            "/images/missing_connector_icon/square/old_original.png".to_string(),
            |c| {
                c.to_json()["icon_url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            },
        );
        json!({
            "id": self.id, "connector_id": self.connector_id, "name": self.name,
            "description": self.description, "notes": self.notes, "visible": self.visible,
            "auth_method": self.auth_method, "policy_id": self.policy_id, "tab_id": null,
            "brand_id": self.brand_id, "icon_url": icon,
            "allow_assumed_signin": self.allow_assumed_signin,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "role_ids": self.role_ids.iter().collect::<Vec<_>>(),
            "provisioning": {"enabled": self.provisioning_enabled},
            "sso": sso, "configuration": self.configuration, "parameters": self.parameters,
            "enforcement_point": {},
        })
    }

    /// The summary object of `GET /api/2/apps`.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "id": self.id, "connector_id": self.connector_id, "auth_method": self.auth_method,
            "auth_method_description": auth_method_description(self.auth_method),
            "name": self.name, "description": self.description,
            "updated_at": self.updated_at, "created_at": self.created_at, "visible": self.visible,
        })
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub access_token: String,
    pub created_at: String,
    pub expires: Instant,
}

/// The whole account. Cloned once after seeding so `reset` can restore it.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub account_id: u64,
    pub owner_id: u64,
    pub users: HashMap<u64, User>,
    /// User ids in id order (ids only grow), for O(page) unfiltered listing.
    pub order: Vec<u64>,
    pub by_email: HashMap<String, u64>,
    pub by_username: HashMap<String, u64>,
    pub roles: BTreeMap<u64, Role>,
    pub apps: BTreeMap<u64, App>,
    /// Sorted by position (unset last), then id.
    pub attrs: Vec<Attr>,
    pub next_user_id: u64,
    pub next_role_id: u64,
    pub next_app_id: u64,
    pub next_attr_id: u64,
    pub next_param_id: u64,
    pub rng: StdRng,
    /// The current token (same token until it expires or is revoked).
    pub token: Option<Token>,
}

impl Tenant {
    pub(crate) fn sort_attrs(&mut self) {
        self.attrs
            .sort_by_key(|a| (a.position.is_none(), a.position.unwrap_or(0), a.id));
    }

    pub(crate) fn attr_by_shortname(&self, shortname: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.shortname == shortname)
    }

    /// Insert a new user (id already assigned, indexes updated).
    pub(crate) fn insert_user(&mut self, user: User) {
        if let Some(e) = user.str(F_EMAIL) {
            self.by_email.insert(e.to_lowercase(), user.id);
        }
        if let Some(u) = user.str(F_USERNAME) {
            self.by_username.insert(u.to_lowercase(), user.id);
        }
        self.order.push(user.id);
        self.users.insert(user.id, user);
    }

    /// Re-index a user whose email or username changed.
    pub(crate) fn reindex(&mut self, old: &User, new: &User) {
        if old.str(F_EMAIL) != new.str(F_EMAIL) {
            if let Some(e) = old.str(F_EMAIL) {
                self.by_email.remove(&e.to_lowercase());
            }
            if let Some(e) = new.str(F_EMAIL) {
                self.by_email.insert(e.to_lowercase(), new.id);
            }
        }
        if old.str(F_USERNAME) != new.str(F_USERNAME) {
            if let Some(u) = old.str(F_USERNAME) {
                self.by_username.remove(&u.to_lowercase());
            }
            if let Some(u) = new.str(F_USERNAME) {
                self.by_username.insert(u.to_lowercase(), new.id);
            }
        }
    }

    pub(crate) fn remove_user(&mut self, id: u64) -> Option<User> {
        let user = self.users.remove(&id)?;
        if let Some(e) = user.str(F_EMAIL) {
            self.by_email.remove(&e.to_lowercase());
        }
        if let Some(u) = user.str(F_USERNAME) {
            self.by_username.remove(&u.to_lowercase());
        }
        if let Ok(pos) = self.order.binary_search(&id) {
            self.order.remove(pos);
        }
        for role in self.roles.values_mut() {
            role.users.remove(&id);
            role.admins.remove(&id);
        }
        Some(user)
    }

    /// Add users to a role, keeping `role_ids` on the users in sync.
    pub(crate) fn add_role_users(&mut self, role_id: u64, user_ids: &[u64], at: &str) {
        let by = self.owner_id;
        if let Some(role) = self.roles.get_mut(&role_id) {
            for uid in user_ids {
                role.users.entry(*uid).or_insert_with(|| Added {
                    by,
                    at: at.to_string(),
                });
                if let Some(u) = self.users.get_mut(uid)
                    && let Err(pos) = u.role_ids.binary_search(&role_id)
                {
                    u.role_ids.insert(pos, role_id);
                }
            }
        }
    }

    pub(crate) fn remove_role_users(&mut self, role_id: u64, user_ids: &[u64]) {
        if let Some(role) = self.roles.get_mut(&role_id) {
            for uid in user_ids {
                role.users.remove(uid);
                if let Some(u) = self.users.get_mut(uid) {
                    u.role_ids.retain(|r| *r != role_id);
                }
            }
        }
    }

    /// Replace the app set of a role, keeping `role_ids` on the apps in sync.
    pub(crate) fn set_role_apps(&mut self, role_id: u64, app_ids: &[u64]) {
        let Some(role) = self.roles.get_mut(&role_id) else {
            return;
        };
        for app in role.apps.iter() {
            if let Some(a) = self.apps.get_mut(app) {
                a.role_ids.remove(&role_id);
            }
        }
        role.apps = app_ids.iter().copied().collect();
        for app in app_ids {
            if let Some(a) = self.apps.get_mut(app) {
                a.role_ids.insert(role_id);
            }
        }
    }

    /// Replace the role set of an app (app create/update `role_ids`: "the entire array is
    /// replaced").
    pub(crate) fn set_app_roles(&mut self, app_id: u64, role_ids: &[u64]) {
        for role in self.roles.values_mut() {
            if role_ids.contains(&role.id) {
                role.apps.insert(app_id);
            } else {
                role.apps.remove(&app_id);
            }
        }
        if let Some(app) = self.apps.get_mut(&app_id) {
            app.role_ids = role_ids.iter().copied().collect();
        }
    }
}
