//! Password hashes as data: one canonical [`Hash`] that every format parses into and every
//! target is written from, and [`verify`] for all of them.
//!
//! A migration meets password hashes in three shapes: modular-crypt strings in source exports
//! (`$2a$10$…`, Stormpath's `$stormpath1$…` and `$stormpath2$…`), Okta's import object
//! (`credentials.password.hash`) and OneLogin's `password_algorithm` + `salt` + hex digest.
//! Converting between them pairwise would need a function per pair and would scatter the
//! rules (Base64 here, hex there, radix-64 for bcrypt, which orders and iteration counts a
//! target can verify). Instead each shape is parsed into a [`Hash`] — the algorithm with its
//! parameters, the raw salt bytes and the raw digest bytes — and written from it, so a new
//! format costs one parser and one writer. A conversion a target cannot verify is a typed
//! [`ConvertError`] saying why, never a hash that would silently lock the user out.
//!
//! [`verify`] computes every algorithm (bcrypt including the `$2x$` sign-extension bug,
//! salted and iterated MD5/SHA digests, Stormpath's HMAC, PBKDF2) and compares in constant
//! time, so tests can prove that a converted hash still accepts the user's password, and the
//! sandbox can check sign-ins against imported hashes.
//!
//! Salts and digests are secrets: `Debug` and `Display` show the algorithm and sizes only,
//! and no error message quotes a hash, a salt or a password. Formats and the reasons behind
//! each conversion rule are in docs/passwords.md.

mod mcf;
mod okta;
mod onelogin;
mod verify;

#[cfg(test)]
mod tests;

use std::fmt;

pub use onelogin::OneLoginPassword;
pub use verify::verify;

/// A message digest of the salted-digest family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    /// The name Okta and Stormpath use: `MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "MD5",
            Digest::Sha1 => "SHA-1",
            Digest::Sha256 => "SHA-256",
            Digest::Sha384 => "SHA-384",
            Digest::Sha512 => "SHA-512",
        }
    }

    /// Parse a name as [`Digest::name`] writes it (case-insensitive).
    pub fn from_name(name: &str) -> Option<Digest> {
        [
            Digest::Md5,
            Digest::Sha1,
            Digest::Sha256,
            Digest::Sha384,
            Digest::Sha512,
        ]
        .into_iter()
        .find(|d| d.name().eq_ignore_ascii_case(name))
    }

    /// Output size in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }
}

/// Where the salt goes in a salted digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaltOrder {
    /// digest(salt ‖ password): Okta `PREFIX`, Stormpath/Shiro, OneLogin `salt+sha256`.
    Prefix,
    /// digest(password ‖ salt): Okta `POSTFIX`, OneLogin `sha256+salt` (our reading).
    Postfix,
}

/// The revision letter of a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BcryptVariant {
    A,
    B,
    /// crypt_blowfish's marker for hashes made with its sign-extension bug (non-ASCII
    /// passwords hash differently from every other variant).
    X,
    Y,
}

impl BcryptVariant {
    /// `2a`, `2b`, `2x` or `2y`.
    pub fn as_str(self) -> &'static str {
        match self {
            BcryptVariant::A => "2a",
            BcryptVariant::B => "2b",
            BcryptVariant::X => "2x",
            BcryptVariant::Y => "2y",
        }
    }

    fn from_str(s: &str) -> Option<BcryptVariant> {
        Some(match s {
            "2a" => BcryptVariant::A,
            "2b" => BcryptVariant::B,
            "2x" => BcryptVariant::X,
            "2y" => BcryptVariant::Y,
            _ => return None,
        })
    }
}

/// The pseudo-random function of PBKDF2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prf {
    HmacSha256,
    HmacSha512,
}

impl Prf {
    /// Okta's `digestAlgorithm` value.
    pub fn okta_name(self) -> &'static str {
        match self {
            Prf::HmacSha256 => "SHA256_HMAC",
            Prf::HmacSha512 => "SHA512_HMAC",
        }
    }
}

/// An algorithm with its parameters. The salt and digest bytes live in [`Hash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// bcrypt: 16-byte salt, 23-byte digest; `cost` is log2 of the rounds (Okta's
    /// `workFactor`).
    Bcrypt { variant: BcryptVariant, cost: u32 },
    /// digest(salt and password in `order`), then `iterations - 1` re-hashes of the digest
    /// alone (Shiro's `SimpleHash`, which Stormpath's `$stormpath2$` is). Okta and OneLogin
    /// hash once. An empty salt is an unsalted digest.
    Salted {
        digest: Digest,
        order: SaltOrder,
        iterations: u32,
    },
    /// HMAC-SHA-256 with the salt as the key and the password as the message
    /// (`$stormpath1$`); 32-byte digest.
    HmacSha256,
    /// PBKDF2 with `iterations` rounds; the derived key is the digest (its length is Okta's
    /// `keySize`).
    Pbkdf2 { prf: Prf, iterations: u32 },
}

/// A password hash: algorithm, salt bytes, digest bytes, and the modular-crypt string it was
/// parsed from, if any.
///
/// Built only through the parsers and [`Hash::compute`], so the sizes always fit the
/// algorithm (a bcrypt salt is 16 bytes, a SHA-256 digest 32, …).
#[derive(Clone, PartialEq, Eq)]
pub struct Hash {
    algorithm: Algorithm,
    salt: Vec<u8>,
    digest: Vec<u8>,
    mcf: Option<String>,
}

/// A hash that could not be read. Messages name the field and the problem, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a modular-crypt string (it must start with `$`)")]
    NotMcf,
    #[error("unknown modular-crypt identifier{}", shown(.0))]
    UnknownIdentifier(String),
    #[error("`${format}$` needs {expected} `$`-separated fields, found {found}")]
    FieldCount {
        format: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("unknown hash algorithm{}", shown(.0))]
    UnknownAlgorithm(String),
    #[error("`{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

/// A value quoted in an error only when it is short and plainly a name, so that a hash
/// pasted into the wrong field is never echoed.
fn shown(v: &str) -> String {
    let plain = !v.is_empty()
        && v.len() <= 24
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'+');
    if plain {
        format!(" `{v}`")
    } else {
        String::new()
    }
}

fn field(field: &'static str, problem: impl Into<String>) -> ParseError {
    ParseError::Field {
        field,
        problem: problem.into(),
    }
}

/// Where a hash was to be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Okta's `credentials.password.hash` import object.
    Okta,
    /// OneLogin's `password_algorithm` + `salt` + hex digest.
    OneLogin,
    /// A modular-crypt string.
    Mcf,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Okta => "okta",
            Target::OneLogin => "onelogin",
            Target::Mcf => "a modular-crypt string",
        })
    }
}

/// Why a hash cannot be written in a target's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error(
        "an HMAC keyed with the salt is not a digest of salt and password, and the target has no algorithm that verifies it"
    )]
    Hmac,
    #[error("the digest was iterated {0} times; the target hashes salt and password once")]
    Iterated(u32),
    #[error("the target does not import {} digests", .0.name())]
    DigestNotSupported(Digest),
    #[error(
        "`$2x$` hashes were made with crypt_blowfish's sign-extension bug; the target verifies standard bcrypt only"
    )]
    BcryptBug,
    #[error("bcrypt cost {0} is outside the target's work factor range 1–20")]
    WorkFactor(u32),
    #[error("PBKDF2 with {0} iterations; the target requires at least 4096")]
    Pbkdf2Iterations(u32),
    #[error("the target imports only salt+sha256 (SHA-256 of salt then password, once)")]
    OnlySaltSha256,
    #[error(
        "the salt is appended; OneLogin documents only `salt+sha256` (salt first) for imports, and the meaning of `sha256+salt` is unconfirmed"
    )]
    SaltAppended,
    #[error("the salt is binary; OneLogin takes the salt as text")]
    SaltNotText,
    #[error("the salt has {0} characters; OneLogin takes at most 40")]
    SaltTooLong(usize),
    #[error("bcrypt has no OneLogin import format the reference confirms")]
    BcryptUnconfirmed,
    #[error("this algorithm has no modular-crypt form")]
    NoMcfForm,
}

/// A hash that cannot be written in a target's format, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert {algorithm} to {target}: {reason}")]
pub struct ConvertError {
    pub target: Target,
    /// What the hash is (its [`Display`](fmt::Display) form: no salt, no digest).
    pub algorithm: String,
    pub reason: Reason,
}

impl Hash {
    /// A hash from its parts; the salt and digest sizes must fit the algorithm.
    pub fn new(algorithm: Algorithm, salt: Vec<u8>, digest: Vec<u8>) -> Result<Hash, ParseError> {
        let h = Hash {
            algorithm: normalize(algorithm, &salt),
            salt,
            digest,
            mcf: None,
        };
        h.check()?;
        Ok(h)
    }

    /// Hash `cleartext` with `algorithm` and `salt` (for fixtures, tests, and a simulator
    /// storing a password it was given in clear).
    pub fn compute(algorithm: Algorithm, salt: &[u8], cleartext: &str) -> Result<Hash, ParseError> {
        let mut h = Hash {
            algorithm: normalize(algorithm, salt),
            salt: salt.to_vec(),
            digest: Vec::new(),
            mcf: None,
        };
        h.digest = match algorithm {
            Algorithm::Bcrypt { .. } => vec![0; 23],
            Algorithm::Salted { digest, .. } => vec![0; digest.output_len()],
            Algorithm::HmacSha256 => vec![0; 32],
            // the key size of a computed PBKDF2 hash is its PRF's output size
            Algorithm::Pbkdf2 { prf, .. } => vec![0; prf_len(prf)],
        };
        h.check()?;
        h.digest = verify::compute(&h, cleartext.as_bytes());
        Ok(h)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The modular-crypt string this hash was parsed from, verbatim.
    pub fn original_mcf(&self) -> Option<&str> {
        self.mcf.as_deref()
    }

    /// Does `cleartext` hash to this digest? (See [`verify`].)
    pub fn verify(&self, cleartext: &str) -> bool {
        verify(self, cleartext)
    }

    /// Parse a modular-crypt string: `$2a$`/`$2b$`/`$2x$`/`$2y$` bcrypt,
    /// `$stormpath1$salt$hash`, `$stormpath2$ALG$ITER$salt$hash`.
    pub fn parse_mcf(s: &str) -> Result<Hash, ParseError> {
        mcf::parse(s)
    }

    /// The modular-crypt string of this hash (bcrypt, `$stormpath1$`, and prefix-salted
    /// digests as `$stormpath2$`).
    pub fn to_mcf(&self) -> Result<String, ConvertError> {
        mcf::format(self)
    }

    /// Parse Okta's `credentials.password.hash` object, with Okta's own validation rules.
    pub fn from_okta(hash: &serde_json::Value) -> Result<Hash, ParseError> {
        okta::parse(hash)
    }

    /// The Okta `credentials.password.hash` object, or why Okta cannot verify this hash.
    pub fn to_okta(&self) -> Result<serde_json::Value, ConvertError> {
        okta::format(self)
    }

    /// Parse OneLogin's hashed-password fields: `password_algorithm`, the `password` (a hex
    /// digest, or a whole `$2…$` string for `bcrypt`) and the `salt`.
    pub fn from_onelogin(algorithm: &str, password: &str, salt: &str) -> Result<Hash, ParseError> {
        onelogin::parse(algorithm, password, salt)
    }

    /// The OneLogin fields, or why OneLogin cannot verify this hash.
    pub fn to_onelogin(&self) -> Result<OneLoginPassword, ConvertError> {
        onelogin::format(self)
    }

    fn cannot(&self, target: Target, reason: Reason) -> ConvertError {
        ConvertError {
            target,
            algorithm: self.to_string(),
            reason,
        }
    }

    /// The size rules every constructor enforces.
    fn check(&self) -> Result<(), ParseError> {
        let want_digest = match self.algorithm {
            Algorithm::Bcrypt { cost, .. } => {
                if !(1..=31).contains(&cost) {
                    return Err(field("cost", "bcrypt cost must be between 1 and 31"));
                }
                if self.salt.len() != 16 {
                    return Err(field("salt", "a bcrypt salt is 16 bytes"));
                }
                23
            }
            Algorithm::Salted {
                digest, iterations, ..
            } => {
                if iterations == 0 {
                    return Err(field("iterations", "must be at least 1"));
                }
                digest.output_len()
            }
            Algorithm::HmacSha256 => 32,
            Algorithm::Pbkdf2 { iterations, .. } => {
                if iterations == 0 {
                    return Err(field("iterationCount", "must be at least 1"));
                }
                if self.digest.is_empty() {
                    return Err(field("keySize", "must be at least 1"));
                }
                self.digest.len()
            }
        };
        if self.digest.len() != want_digest {
            return Err(field(
                "value",
                format!(
                    "a {} digest is {want_digest} bytes, this one is {}",
                    self.kind(),
                    self.digest.len()
                ),
            ));
        }
        Ok(())
    }

    /// A short name of the algorithm, for messages.
    fn kind(&self) -> String {
        match self.algorithm {
            Algorithm::Bcrypt { .. } => "bcrypt".into(),
            Algorithm::Salted { digest, .. } => digest.name().into(),
            Algorithm::HmacSha256 => "HMAC-SHA-256".into(),
            Algorithm::Pbkdf2 { .. } => "PBKDF2".into(),
        }
    }
}

/// An unsalted digest has no salt order; it is kept as `Prefix` so that equal hashes compare
/// equal whatever format they came from.
fn normalize(algorithm: Algorithm, salt: &[u8]) -> Algorithm {
    match algorithm {
        Algorithm::Salted {
            digest, iterations, ..
        } if salt.is_empty() => Algorithm::Salted {
            digest,
            order: SaltOrder::Prefix,
            iterations,
        },
        other => other,
    }
}

fn prf_len(prf: Prf) -> usize {
    match prf {
        Prf::HmacSha256 => 32,
        Prf::HmacSha512 => 64,
    }
}

/// The algorithm and its parameters; never the salt or the digest.
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let salt = self.salt.len();
        match self.algorithm {
            Algorithm::Bcrypt { variant, cost } => {
                write!(f, "bcrypt (${}$, cost {cost})", variant.as_str())
            }
            Algorithm::Salted {
                digest,
                order,
                iterations,
            } => {
                let times = if iterations == 1 { "" } else { "s" };
                if salt == 0 {
                    write!(
                        f,
                        "{} (unsalted, {iterations} iteration{times})",
                        digest.name()
                    )
                } else {
                    let order = match order {
                        SaltOrder::Prefix => "prefix",
                        SaltOrder::Postfix => "postfix",
                    };
                    write!(
                        f,
                        "{} ({salt}-byte {order} salt, {iterations} iteration{times})",
                        digest.name()
                    )
                }
            }
            Algorithm::HmacSha256 => write!(f, "HMAC-SHA-256 ({salt}-byte key)"),
            Algorithm::Pbkdf2 { prf, iterations } => write!(
                f,
                "PBKDF2-{} ({iterations} iterations, {salt}-byte salt, {}-byte key)",
                prf.okta_name(),
                self.digest.len()
            ),
        }
    }
}

/// Like `Display`: sizes instead of the salt and digest, no modular-crypt string.
impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hash")
            .field("algorithm", &self.algorithm)
            .field("salt", &format_args!("<{} bytes>", self.salt.len()))
            .field("digest", &format_args!("<{} bytes>", self.digest.len()))
            .field(
                "mcf",
                &format_args!("{}", if self.mcf.is_some() { "<kept>" } else { "none" }),
            )
            .finish()
    }
}
