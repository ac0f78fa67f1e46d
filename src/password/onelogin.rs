//! OneLogin's hashed passwords (onelogin-api.md §6.4, §8.2): `password_algorithm`
//! `salt+sha256` — the lower-case hex SHA-256 of the salt text followed by the password —
//! with the salt as text of at most 40 characters; `sha256+salt` (salt appended: our
//! reading, UNCONFIRMED); and `bcrypt`, whose format the reference does not confirm (read
//! here as the whole `$2…$` string in `password`).
//!
//! Only `salt+sha256` is written: it is the one algorithm OneLogin documents for imports
//! (and the only one `set_password_using_salt` takes).

use serde_json::{Value, json};

use super::{Algorithm, ConvertError, Digest, Hash, ParseError, Reason, SaltOrder, Target, field};

/// Longest salt OneLogin takes (`password_salt`: at most 40 characters).
pub const MAX_SALT_CHARS: usize = 40;

/// What OneLogin needs to import a hash: the algorithm name, the salt text and the hex
/// digest. `Debug` hides the salt and the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct OneLoginPassword {
    /// Always `salt+sha256`.
    pub algorithm: &'static str,
    pub salt: String,
    /// Lower-case hex.
    pub hash_hex: String,
}

impl std::fmt::Debug for OneLoginPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneLoginPassword")
            .field("algorithm", &self.algorithm)
            .field(
                "salt",
                &format_args!("<{} chars>", self.salt.chars().count()),
            )
            .field("hash_hex", &"<redacted>")
            .finish()
    }
}

impl OneLoginPassword {
    /// The body of `PUT /api/1/users/set_password_using_salt/{id}`.
    pub fn v1_body(&self) -> Value {
        json!({
            "password": self.hash_hex,
            "password_confirmation": self.hash_hex,
            "password_algorithm": self.algorithm,
            "password_salt": self.salt,
        })
    }

    /// The password fields of a `POST /api/2/users` body.
    pub fn v2_fields(&self) -> Value {
        json!({
            "password": self.hash_hex,
            "password_confirmation": self.hash_hex,
            "password_algorithm": self.algorithm,
            "salt": self.salt,
        })
    }
}

fn hex_digest(password: &str) -> Result<Vec<u8>, ParseError> {
    let lower_hex = password.len() == 64
        && password
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !lower_hex {
        return Err(field(
            "password",
            "must be the lower-case hex SHA-256 digest (64 characters)",
        ));
    }
    hex::decode(password).map_err(|_| field("password", "not hex"))
}

pub(super) fn parse(algorithm: &str, password: &str, salt: &str) -> Result<Hash, ParseError> {
    let order = match algorithm {
        "salt+sha256" => SaltOrder::Prefix,
        "sha256+salt" => SaltOrder::Postfix,
        "bcrypt" => {
            return match Hash::parse_mcf(password)? {
                h @ Hash {
                    algorithm: Algorithm::Bcrypt { .. },
                    ..
                } => Ok(h),
                _ => Err(field("password", "must be a `$2a$`/`$2b$`/`$2y$` string")),
            };
        }
        other => return Err(ParseError::UnknownAlgorithm(other.to_string())),
    };
    if salt.chars().count() > MAX_SALT_CHARS {
        return Err(field("salt", "is longer than 40 characters"));
    }
    Hash::new(
        Algorithm::Salted {
            digest: Digest::Sha256,
            order,
            iterations: 1,
        },
        salt.as_bytes().to_vec(),
        hex_digest(password)?,
    )
}

pub(super) fn format(h: &Hash) -> Result<OneLoginPassword, ConvertError> {
    let cannot = |r| Err(h.cannot(Target::OneLogin, r));
    match h.algorithm {
        Algorithm::Salted {
            digest: Digest::Sha256,
            order,
            iterations: 1,
        } => {
            if order == SaltOrder::Postfix && !h.salt.is_empty() {
                return cannot(Reason::SaltAppended);
            }
            let Ok(salt) = std::str::from_utf8(&h.salt) else {
                return cannot(Reason::SaltNotText);
            };
            let n = salt.chars().count();
            if n > MAX_SALT_CHARS {
                return cannot(Reason::SaltTooLong(n));
            }
            Ok(OneLoginPassword {
                algorithm: "salt+sha256",
                salt: salt.to_string(),
                hash_hex: hex::encode(&h.digest),
            })
        }
        Algorithm::Salted { iterations, .. } if iterations != 1 => {
            cannot(Reason::Iterated(iterations))
        }
        Algorithm::Salted { digest, .. } if digest != Digest::Sha256 => {
            cannot(Reason::DigestNotSupported(digest))
        }
        Algorithm::Bcrypt { .. } => cannot(Reason::BcryptUnconfirmed),
        Algorithm::HmacSha256 => cannot(Reason::Hmac),
        Algorithm::Salted { .. } | Algorithm::Pbkdf2 { .. } => cannot(Reason::OnlySaltSha256),
    }
}
