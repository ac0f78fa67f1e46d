//! The canonical identity: the one shape every source adapter produces and every target
//! adapter consumes, so N sources and M targets need N + M adapters, not N × M.
//!
//! It is SCIM's core and enterprise user fields plus an ordered list of custom fields, and it
//! borrows from the source record instead of copying it: mapping a million users must not
//! clone a million profiles. Each value carries the source path it came from, which is what
//! `--explain` prints.

use std::borrow::Cow;

use serde_json::Value;

/// Identity fields every adapter knows, named after SCIM core and enterprise attributes (and
/// a few directory ones), not after any one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// SCIM `name.givenName`.
    GivenName,
    /// SCIM `name.familyName`.
    FamilyName,
    /// The primary email address.
    Email,
    /// SCIM `userName`: what the person signs in with.
    UserName,
    /// Active Directory `sAMAccountName`.
    SamAccountName,
    /// Active Directory `userPrincipalName`.
    UserPrincipalName,
    MobilePhone,
    /// The work or primary phone.
    Phone,
    /// Enterprise `organization` (company).
    Organization,
    Department,
    Title,
    /// Free-text notes about the person.
    Comment,
    /// SCIM `locale` / `preferredLanguage`.
    Locale,
    SecondEmail,
    StreetAddress,
    /// City.
    Locality,
    /// State or province.
    Region,
    PostalCode,
    Country,
    CountryCode,
    DisplayName,
    EmployeeNumber,
}

impl Field {
    /// Every field, in the order adapters process them.
    pub const ALL: [Field; 22] = [
        Field::GivenName,
        Field::FamilyName,
        Field::Email,
        Field::UserName,
        Field::SamAccountName,
        Field::UserPrincipalName,
        Field::MobilePhone,
        Field::Phone,
        Field::Organization,
        Field::Department,
        Field::Title,
        Field::Comment,
        Field::Locale,
        Field::SecondEmail,
        Field::StreetAddress,
        Field::Locality,
        Field::Region,
        Field::PostalCode,
        Field::Country,
        Field::CountryCode,
        Field::DisplayName,
        Field::EmployeeNumber,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The account's lifecycle state, in the source's terms but provider-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Can sign in.
    Active,
    /// Created but never activated.
    Staged,
    /// Activated, but no password set yet.
    Provisioned,
    /// A password reset is under way.
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    /// Deactivated (kept only when the export asked for them).
    Deprovisioned,
}

/// One value and where it came from (`profile.primaryPhone`, `credentials.emails[0].value`,
/// or a rule such as `login before @`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<'a> {
    pub value: Cow<'a, str>,
    pub from: Cow<'static, str>,
}

impl<'a> Sourced<'a> {
    pub fn new(value: impl Into<Cow<'a, str>>, from: impl Into<Cow<'static, str>>) -> Self {
        Sourced {
            value: value.into(),
            from: from.into(),
        }
    }
}

/// A source field that is not one of [`Field`]: it becomes a custom attribute (or, if complex,
/// is handled by the `--complex` strategy).
#[derive(Clone, PartialEq)]
pub struct CustomField<'a> {
    /// The field's name in the source (`costCenter`).
    pub name: &'a str,
    /// Borrowed from the record, or made by the adapter when the source keeps it in pieces (a
    /// Stormpath API key's `id:secret`).
    pub value: Cow<'a, Value>,
    /// Where it sits in the record, for `--explain` and warnings.
    pub at: CustomPath,
    /// A secret (an API key): written like any value, but never shown in a message, in
    /// `--explain` or by `Debug`.
    pub secret: bool,
}

/// Where a custom field sits in its source record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomPath {
    /// Its name under this prefix: `profile.` (Okta), `_idm.customData.` (Stormpath), or
    /// nothing (a CSV row).
    Under(&'static str),
    /// This path, whatever its name (Stormpath's `stormpathHref` is the account's `href`).
    At(&'static str),
}

impl<'a> CustomField<'a> {
    /// A field whose value is in the record.
    pub fn new(name: &'a str, value: &'a Value, at: CustomPath) -> Self {
        CustomField {
            name,
            value: Cow::Borrowed(value),
            at,
            secret: false,
        }
    }

    /// A secret the adapter put together.
    pub fn secret(name: &'a str, value: String, at: CustomPath) -> Self {
        CustomField {
            name,
            value: Cow::Owned(Value::String(value)),
            at,
            secret: true,
        }
    }

    /// Its path in the source record (`profile.costCenter`), for messages.
    pub fn path(&self) -> impl std::fmt::Display + '_ {
        struct Path<'f>(CustomPath, &'f str);
        impl std::fmt::Display for Path<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.0 {
                    CustomPath::Under(prefix) => write!(f, "{prefix}{}", self.1),
                    CustomPath::At(path) => f.write_str(path),
                }
            }
        }
        Path(self.at, self.name)
    }
}

/// Like the derived one, but a secret's value is not shown.
impl std::fmt::Debug for CustomField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("CustomField");
        d.field("name", &self.name);
        if self.secret {
            d.field("value", &format_args!("<secret>"));
        } else {
            d.field("value", &self.value);
        }
        d.field("at", &self.at).finish()
    }
}

/// What a source knows of a user's password.
#[derive(Debug, Clone)]
pub enum Password {
    /// A hash (Stormpath, a CSV staging file): carried to targets that take it.
    Hash {
        hash: crate::password::Hash,
        /// Where it came from (`password`, `password_hash`), for `--explain`.
        from: &'static str,
    },
    /// A hash the source had but that could not be read: why (never the value).
    Unreadable { from: &'static str, why: String },
    /// A cleartext password from a staging file that allowed it.
    Clear {
        value: crate::secrets::Secret,
        from: &'static str,
    },
}

/// A user as every target adapter sees it.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    /// The user's id in the source.
    pub id: &'a str,
    pub status: AccountStatus,
    fields: [Option<Sourced<'a>>; Field::ALL.len()],
    /// Custom fields in source order, not yet normalized or filtered.
    pub custom: Vec<CustomField<'a>>,
    /// The password, when the source has one (Okta and OneLogin exports never do).
    pub password: Option<Password>,
    /// Things a person should read, found while reading the source.
    pub warnings: Vec<String>,
}

impl<'a> Identity<'a> {
    pub fn new(id: &'a str, status: AccountStatus) -> Identity<'a> {
        Identity {
            id,
            status,
            fields: Default::default(),
            custom: Vec::new(),
            password: None,
            warnings: Vec::new(),
        }
    }

    pub fn get(&self, field: Field) -> Option<&Sourced<'a>> {
        self.fields[field.index()].as_ref()
    }

    pub fn set(&mut self, field: Field, value: Option<Sourced<'a>>) {
        self.fields[field.index()] = value;
    }
}

/// A group of users (an Okta group, a Stormpath directory, a OneLogin role).
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    pub id: &'a str,
    pub name: Option<Sourced<'a>>,
    /// Borrowed, or made by the adapter (Stormpath's `Stormpath directoryId=…: …`).
    pub description: Option<Cow<'a, str>>,
    /// The source's own all-users group (Okta's BUILT_IN `Everyone`).
    pub built_in: bool,
}

/// How an application signs people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOn {
    Saml,
    Oidc,
    /// Anything else (password vaulting, bookmarks, WS-Fed, …): migrated without settings.
    Other,
}

/// An application and the settings a target needs to recreate its single sign-on.
#[derive(Debug, Clone, PartialEq)]
pub struct App<'a> {
    pub id: &'a str,
    pub name: Option<Sourced<'a>>,
    /// Names to look the app up by in a connector map, most specific first.
    pub lookup_names: Vec<&'a str>,
    /// The source's sign-on mode as written there (`SAML_2_0`), for connector lookups.
    pub sign_on_mode: Option<&'a str>,
    pub sign_on: SignOn,
    pub description: Option<&'a str>,
    pub visible: bool,
    /// Where the app is reached (a bookmark's URL, a sign-in page), when the source says.
    pub url: Option<&'a str>,
    pub saml: Option<Saml<'a>>,
    pub oidc: Option<Oidc<'a>>,
}

/// SAML service-provider settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Saml<'a> {
    pub acs_url: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub relay_state: Option<&'a str>,
    pub logout_url: Option<&'a str>,
    pub name_id_format: Option<&'a str>,
    /// `SHA-1` or `SHA-256`.
    pub signature_algorithm: Option<&'static str>,
    pub digest_algorithm: Option<&'a str>,
    pub attributes: Vec<SamlAttribute<'a>>,
}

/// One attribute statement: a name and the user field it carries, when that is a plain field.
#[derive(Debug, Clone, PartialEq)]
pub struct SamlAttribute<'a> {
    pub name: &'a str,
    /// The source's expression (`user.email`).
    pub expression: Option<&'a str>,
    /// The identity field or custom field name the expression reads, when it is that simple.
    pub user_field: Option<UserRef<'a>>,
}

/// A reference to one user field, as SAML attribute statements use them.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRef<'a> {
    Field(Field),
    Custom(&'a str),
}

/// OpenID Connect client settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Oidc<'a> {
    pub redirect_uris: Vec<&'a str>,
    pub post_logout_redirect_uris: Vec<&'a str>,
    pub login_url: Option<&'a str>,
    pub grant_types: Vec<&'a str>,
    pub response_types: Vec<&'a str>,
    /// `web`, `native`, `browser`, `service`.
    pub application_type: Option<&'a str>,
    /// `client_secret_basic`, `client_secret_post`, `none`, …
    pub token_endpoint_auth_method: Option<&'a str>,
}
