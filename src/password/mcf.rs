//! Modular-crypt strings: bcrypt (`$2a$NN$` + 22 + 31 radix-64 characters) and Stormpath's
//! export formats (`$stormpath1$salt$hash`, `$stormpath2$ALG$ITER$salt$hash`, standard
//! Base64, an empty salt allowed in the second).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Engine};

use super::{
    Algorithm, BcryptVariant, ConvertError, Digest, Hash, ParseError, Reason, SaltOrder, Target,
    field,
};

/// Standard Base64; padding optional when reading, written when writing.
pub(super) const B64: Engine = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// bcrypt's radix-64 (`./A-Za-z0-9`, no padding). Unused low bits of the last character are
/// ignored when reading, as bcrypt implementations do, and written as zero.
pub(super) const RADIX64: Engine = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

pub(super) fn b64_decode(name: &'static str, s: &str) -> Result<Vec<u8>, ParseError> {
    B64.decode(s.trim())
        .map_err(|_| field(name, "not standard Base64"))
}

/// Decode `len` bytes from exactly `chars` radix-64 characters.
pub(super) fn radix64_decode(
    name: &'static str,
    s: &str,
    chars: usize,
    len: usize,
) -> Result<Vec<u8>, ParseError> {
    if s.len() != chars {
        return Err(field(
            name,
            format!("must be {chars} radix-64 characters, found {}", s.len()),
        ));
    }
    let bytes = RADIX64
        .decode(s)
        .map_err(|_| field(name, "not radix-64 (`./A-Za-z0-9`)"))?;
    if bytes.len() != len {
        return Err(field(name, format!("must decode to {len} bytes")));
    }
    Ok(bytes)
}

pub(super) fn parse(s: &str) -> Result<Hash, ParseError> {
    let s = s.trim();
    let Some(rest) = s.strip_prefix('$') else {
        return Err(ParseError::NotMcf);
    };
    let parts: Vec<&str> = rest.split('$').collect();
    let id = parts[0];
    let mut h = match id {
        "2a" | "2b" | "2x" | "2y" => parse_bcrypt(id, &parts)?,
        "stormpath1" => {
            if parts.len() != 3 {
                return Err(ParseError::FieldCount {
                    format: "stormpath1",
                    expected: 2,
                    found: parts.len() - 1,
                });
            }
            let salt = b64_decode("salt", parts[1])?;
            let digest = b64_decode("hash", parts[2])?;
            Hash::new(Algorithm::HmacSha256, salt, digest)?
        }
        "stormpath2" => {
            if parts.len() != 5 {
                return Err(ParseError::FieldCount {
                    format: "stormpath2",
                    expected: 4,
                    found: parts.len() - 1,
                });
            }
            let digest = Digest::from_name(parts[1])
                .ok_or_else(|| ParseError::UnknownAlgorithm(parts[1].to_string()))?;
            let iterations: u32 = parts[2]
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| field("iterations", "must be a positive integer"))?;
            let salt = if parts[3].is_empty() {
                Vec::new()
            } else {
                b64_decode("salt", parts[3])?
            };
            let value = b64_decode("hash", parts[4])?;
            Hash::new(
                Algorithm::Salted {
                    digest,
                    order: SaltOrder::Prefix,
                    iterations,
                },
                salt,
                value,
            )?
        }
        other => return Err(ParseError::UnknownIdentifier(other.to_string())),
    };
    h.mcf = Some(s.to_string());
    Ok(h)
}

/// `$2a$10$` + 22 salt characters + 31 hash characters.
fn parse_bcrypt(id: &str, parts: &[&str]) -> Result<Hash, ParseError> {
    if parts.len() != 3 {
        return Err(ParseError::FieldCount {
            format: "2a",
            expected: 2,
            found: parts.len() - 1,
        });
    }
    let variant = BcryptVariant::from_str(id).ok_or_else(|| field("identifier", "not bcrypt"))?;
    let cost_s = parts[1];
    let cost: u32 = (cost_s.len() == 2)
        .then(|| cost_s.parse().ok())
        .flatten()
        .filter(|c| (1..=31).contains(c))
        .ok_or_else(|| field("cost", "must be two digits between 01 and 31"))?;
    let rest = parts[2];
    if rest.len() != 53 || !rest.is_ascii() {
        return Err(field(
            "hash",
            format!(
                "bcrypt needs 53 characters after the cost, found {}",
                rest.chars().count()
            ),
        ));
    }
    let salt = radix64_decode("salt", &rest[..22], 22, 16)?;
    let digest = radix64_decode("hash", &rest[22..], 31, 23)?;
    Hash::new(Algorithm::Bcrypt { variant, cost }, salt, digest)
}

/// The bcrypt salt and hash parts as radix-64 (22 and 31 characters).
pub(super) fn bcrypt_parts(h: &Hash) -> (String, String) {
    (RADIX64.encode(&h.salt), RADIX64.encode(&h.digest))
}

pub(super) fn format(h: &Hash) -> Result<String, ConvertError> {
    match h.algorithm {
        Algorithm::Bcrypt { variant, cost } => {
            let (salt, value) = bcrypt_parts(h);
            Ok(format!("${}${cost:02}${salt}{value}", variant.as_str()))
        }
        Algorithm::HmacSha256 => Ok(format!(
            "$stormpath1${}${}",
            B64.encode(&h.salt),
            B64.encode(&h.digest)
        )),
        Algorithm::Salted {
            digest,
            order: SaltOrder::Prefix,
            iterations,
        } => Ok(format!(
            "$stormpath2${}${iterations}${}${}",
            digest.name(),
            B64.encode(&h.salt),
            B64.encode(&h.digest)
        )),
        Algorithm::Salted { .. } | Algorithm::Pbkdf2 { .. } => {
            Err(h.cannot(Target::Mcf, Reason::NoMcfForm))
        }
    }
}
