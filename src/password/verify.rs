//! Computing every algorithm, and comparing in constant time.
//!
//! bcrypt is implemented here on the `blowfish` crate's eksblowfish primitives rather than
//! taken from a bcrypt crate, because `$2x$` must reproduce crypt_blowfish's sign-extension
//! bug (bytes ≥ 0x80 were sign-extended while packing the key, clobbering the bytes before
//! them). The key words are computed as crypt_blowfish computes them — correctly for
//! `$2a$`/`$2b$`/`$2y$`, with the bug for `$2x$` — and handed to Blowfish as a 72-byte key,
//! which its cyclic key schedule reads back as exactly those 18 words.

use blowfish::Blowfish;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;

use super::{Algorithm, BcryptVariant, Digest, Hash, Prf, SaltOrder};

/// Does `cleartext` (UTF-8) hash to `hash`'s digest under its algorithm, salt and parameters?
/// The comparison takes the same time wherever the digests differ.
pub fn verify(hash: &Hash, cleartext: &str) -> bool {
    verify_bytes(hash, cleartext.as_bytes())
}

/// [`verify`] for a password given as bytes (bcrypt test vectors use non-UTF-8 bytes).
pub(super) fn verify_bytes(hash: &Hash, cleartext: &[u8]) -> bool {
    let computed = compute(hash, cleartext);
    computed.len() == hash.digest.len() && bool::from(computed.ct_eq(&hash.digest))
}

/// The digest of `cleartext` under `hash`'s algorithm, salt and parameters (and, for
/// PBKDF2, key size).
pub(super) fn compute(hash: &Hash, cleartext: &[u8]) -> Vec<u8> {
    match hash.algorithm {
        Algorithm::Bcrypt { variant, cost } => {
            let mut salt = [0u8; 16];
            salt.copy_from_slice(&hash.salt);
            bcrypt(variant, cost, &salt, cleartext).to_vec()
        }
        Algorithm::Salted {
            digest,
            order,
            iterations,
        } => {
            let mut data = Vec::with_capacity(hash.salt.len() + cleartext.len());
            match order {
                SaltOrder::Prefix => {
                    data.extend_from_slice(&hash.salt);
                    data.extend_from_slice(cleartext);
                }
                SaltOrder::Postfix => {
                    data.extend_from_slice(cleartext);
                    data.extend_from_slice(&hash.salt);
                }
            }
            let mut out = digest_of(digest, &data);
            for _ in 1..iterations {
                out = digest_of(digest, &out);
            }
            out
        }
        Algorithm::HmacSha256 => {
            // HMAC takes a key of any length
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&hash.salt) else {
                return Vec::new();
            };
            mac.update(cleartext);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::Pbkdf2 { prf, iterations } => {
            let mut out = vec![0u8; hash.digest.len()];
            let done = match prf {
                Prf::HmacSha256 => {
                    pbkdf2::pbkdf2::<Hmac<Sha256>>(cleartext, &hash.salt, iterations, &mut out)
                }
                Prf::HmacSha512 => {
                    pbkdf2::pbkdf2::<Hmac<Sha512>>(cleartext, &hash.salt, iterations, &mut out)
                }
            };
            if done.is_err() {
                return Vec::new();
            }
            out
        }
    }
}

fn digest_of(d: Digest, data: &[u8]) -> Vec<u8> {
    match d {
        Digest::Md5 => Md5::digest(data).to_vec(),
        Digest::Sha1 => Sha1::digest(data).to_vec(),
        Digest::Sha256 => Sha256::digest(data).to_vec(),
        Digest::Sha384 => Sha384::digest(data).to_vec(),
        Digest::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// The 18 key words bcrypt XORs into the P-array, as crypt_blowfish's `BF_set_key` packs
/// them: the password and its NUL terminator repeated, 72 bytes read. `$2x$` sign-extends
/// each byte before OR-ing it in (the bug); the other variants do not.
fn key_words(password: &[u8], variant: BcryptVariant) -> [u32; 18] {
    // a C string ends at its first NUL
    let end = password
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(password.len());
    let key = &password[..end];
    let bug = variant == BcryptVariant::X;
    let mut words = [0u32; 18];
    let mut pos = 0usize;
    for w in &mut words {
        let mut v: u32 = 0;
        for _ in 0..4 {
            // the byte after the password is its NUL terminator, then the key repeats
            let byte = key.get(pos).copied().unwrap_or(0);
            let extended = if bug {
                byte as i8 as i32 as u32
            } else {
                u32::from(byte)
            };
            v = (v << 8) | extended;
            pos = if pos >= key.len() { 0 } else { pos + 1 };
        }
        *w = v;
    }
    words
}

/// bcrypt's raw 23-byte output for `password` under `cost` and `salt`.
fn bcrypt(variant: BcryptVariant, cost: u32, salt: &[u8; 16], password: &[u8]) -> [u8; 23] {
    let mut key = [0u8; 72];
    for (chunk, w) in key.chunks_exact_mut(4).zip(key_words(password, variant)) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    let mut state = Blowfish::bc_init_state();
    state.salted_expand_key(salt, &key);
    for _ in 0..(1u64 << cost) {
        state.bc_expand_key(&key);
        state.bc_expand_key(salt);
    }
    // "OrpheanBeholderScryDoubt" as six big-endian words, encrypted 64 times
    let mut ctext = [
        0x4f72_7068u32,
        0x6561_6e42,
        0x6568_6f6c,
        0x6465_7253,
        0x6372_7944,
        0x6f75_6274,
    ];
    for _ in 0..64 {
        for pair in ctext.chunks_exact_mut(2) {
            let out = state.bc_encrypt([pair[0], pair[1]]);
            pair[0] = out[0];
            pair[1] = out[1];
        }
    }
    let mut out = [0u8; 24];
    for (chunk, w) in out.chunks_exact_mut(4).zip(ctext) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    let mut raw = [0u8; 23];
    raw.copy_from_slice(&out[..23]);
    raw
}
