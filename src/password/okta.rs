//! Okta's `credentials.password.hash` import object (okta-api.md §4.4, the spec's
//! `PasswordCredentialHash`): `BCRYPT` with `workFactor` and radix-64 `salt`/`value`;
//! `SHA-512`, `SHA-256`, `SHA-1`, `MD5` with Base64 `value`, optional Base64 `salt` and its
//! `saltOrder`; `PBKDF2` with `digestAlgorithm`, `iterationCount`, `keySize` and Base64
//! `salt`/`value`.
//!
//! Parsing applies Okta's own rules (work factor 1–20, PBKDF2 at least 4096 iterations, a
//! `saltOrder` for every salt), so a value that passes here is one Okta would take.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::mcf::{B64, bcrypt_parts, radix64_decode};
use super::{
    Algorithm, BcryptVariant, ConvertError, Digest, Hash, ParseError, Prf, Reason, SaltOrder,
    Target, field,
};

/// The six algorithms Okta imports, as it spells them.
pub(super) const ALGORITHMS: &[&str] = &["BCRYPT", "SHA-512", "SHA-256", "SHA-1", "MD5", "PBKDF2"];

fn text<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, ParseError> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(field(name, "is required")),
        Some(_) => Err(field(name, "must be a string")),
    }
}

fn int(obj: &Map<String, Value>, name: &'static str) -> Result<u64, ParseError> {
    match obj.get(name) {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| field(name, "must be a positive integer")),
        None => Err(field(name, "is required")),
    }
}

pub(super) fn parse(v: &Value) -> Result<Hash, ParseError> {
    let Value::Object(obj) = v else {
        return Err(field("hash", "must be an object"));
    };
    let algorithm = text(obj, "algorithm")?;
    if !ALGORITHMS.contains(&algorithm) {
        return Err(ParseError::UnknownAlgorithm(algorithm.to_string()));
    }
    match algorithm {
        "BCRYPT" => {
            let cost = int(obj, "workFactor")?;
            if !(1..=20).contains(&cost) {
                return Err(field("workFactor", "must be between 1 and 20"));
            }
            let salt = radix64_decode("salt", text(obj, "salt")?, 22, 16)?;
            let value = radix64_decode("value", text(obj, "value")?, 31, 23)?;
            // Okta does not say which revision it verifies; `$2b$` is the current one, and
            // `$2a$`, `$2b$` and `$2y$` hash every password alike.
            Hash::new(
                Algorithm::Bcrypt {
                    variant: BcryptVariant::B,
                    cost: cost as u32,
                },
                salt,
                value,
            )
        }
        "PBKDF2" => {
            let prf = match text(obj, "digestAlgorithm")? {
                "SHA256_HMAC" => Prf::HmacSha256,
                "SHA512_HMAC" => Prf::HmacSha512,
                _ => {
                    return Err(field(
                        "digestAlgorithm",
                        "must be SHA256_HMAC or SHA512_HMAC",
                    ));
                }
            };
            let iterations = int(obj, "iterationCount")?;
            if !(4096..=u64::from(u32::MAX)).contains(&iterations) {
                return Err(field("iterationCount", "must be at least 4096"));
            }
            let key_size = int(obj, "keySize")?;
            if key_size == 0 {
                return Err(field("keySize", "must be a positive integer"));
            }
            let salt = B64
                .decode(text(obj, "salt")?.trim())
                .map_err(|_| field("salt", "not standard Base64"))?;
            if salt.is_empty() {
                return Err(field("salt", "is required for PBKDF2"));
            }
            let value = B64
                .decode(text(obj, "value")?.trim())
                .map_err(|_| field("value", "not standard Base64"))?;
            if value.len() as u64 != key_size {
                return Err(field(
                    "value",
                    format!("must be the Base64 of a {key_size}-byte key (keySize)"),
                ));
            }
            Hash::new(
                Algorithm::Pbkdf2 {
                    prf,
                    iterations: iterations as u32,
                },
                salt,
                value,
            )
        }
        name => {
            let digest = Digest::from_name(name)
                .ok_or_else(|| ParseError::UnknownAlgorithm(name.to_string()))?;
            let value = B64
                .decode(text(obj, "value")?.trim())
                .map_err(|_| field("value", "not standard Base64"))?;
            if value.len() != digest.output_len() {
                return Err(field(
                    "value",
                    format!(
                        "must be the Base64 of a {}-byte {name} digest",
                        digest.output_len()
                    ),
                ));
            }
            let salt = match obj.get("salt") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => B64
                    .decode(s.trim())
                    .map_err(|_| field("salt", "not standard Base64"))?,
                Some(_) => return Err(field("salt", "must be a string")),
            };
            let order = match obj.get("saltOrder") {
                Some(Value::String(s)) if s == "PREFIX" => SaltOrder::Prefix,
                Some(Value::String(s)) if s == "POSTFIX" => SaltOrder::Postfix,
                None | Some(Value::Null) if salt.is_empty() => SaltOrder::Prefix,
                None | Some(Value::Null) => {
                    return Err(field("saltOrder", "is required with a salt"));
                }
                Some(_) => return Err(field("saltOrder", "must be PREFIX or POSTFIX")),
            };
            Hash::new(
                Algorithm::Salted {
                    digest,
                    order,
                    iterations: 1,
                },
                salt,
                value,
            )
        }
    }
}

pub(super) fn format(h: &Hash) -> Result<Value, ConvertError> {
    let cannot = |r| Err(h.cannot(Target::Okta, r));
    match h.algorithm {
        Algorithm::Bcrypt { variant, cost } => {
            if variant == BcryptVariant::X {
                return cannot(Reason::BcryptBug);
            }
            if !(1..=20).contains(&cost) {
                return cannot(Reason::WorkFactor(cost));
            }
            let (salt, value) = bcrypt_parts(h);
            Ok(json!({ "algorithm": "BCRYPT", "workFactor": cost, "salt": salt, "value": value }))
        }
        Algorithm::Salted {
            digest,
            order,
            iterations,
        } => {
            if digest == Digest::Sha384 {
                return cannot(Reason::DigestNotSupported(digest));
            }
            if iterations != 1 {
                return cannot(Reason::Iterated(iterations));
            }
            let mut out = Map::new();
            out.insert("algorithm".into(), json!(digest.name()));
            if !h.salt.is_empty() {
                out.insert("salt".into(), json!(B64.encode(&h.salt)));
                let order = match order {
                    SaltOrder::Prefix => "PREFIX",
                    SaltOrder::Postfix => "POSTFIX",
                };
                out.insert("saltOrder".into(), json!(order));
            }
            out.insert("value".into(), json!(B64.encode(&h.digest)));
            Ok(Value::Object(out))
        }
        Algorithm::HmacSha256 => cannot(Reason::Hmac),
        Algorithm::Pbkdf2 { prf, iterations } => {
            if iterations < 4096 {
                return cannot(Reason::Pbkdf2Iterations(iterations));
            }
            Ok(json!({
                "algorithm": "PBKDF2",
                "digestAlgorithm": prf.okta_name(),
                "iterationCount": iterations,
                "keySize": h.digest.len(),
                "salt": B64.encode(&h.salt),
                "value": B64.encode(&h.digest),
            }))
        }
    }
}
