//! `textconv`: what `git diff` and `git log -p` show for a vault ciphertext: its format, the
//! number of recipients and the payload size, and — when a key that decrypts it is at hand — a
//! keyed fingerprint of the value, so a diff tells "value changed" from "only re-encrypted"
//! without revealing anything about the value. Never plaintext, never ciphertext bytes.
//!
//! The fingerprint is HMAC-SHA256 of the value under a key derived from the viewer's identity:
//! stable for one viewer across commits, meaningless to anyone without that identity, and it
//! cannot be used to test guesses of the value without the identity.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::crypto::{self, Identity};

const LABEL: &[u8] = b"git-vault textconv fingerprint v1";

/// The text shown for one vault file's bytes. `escrow` marks an escrowed agent key.
pub fn render(bytes: &[u8], escrow: bool, identity: Option<&Identity>) -> String {
    let info = match crypto::inspect(bytes) {
        Ok(info) => info,
        Err(why) => return format!("not a valid age file ({why}); {} bytes\n", bytes.len()),
    };
    let kind = if escrow { "escrowed agent key" } else { "secret" };
    let form = if info.armored { "ASCII-armored" } else { "binary" };
    let mut tags = info.recipient_stanzas();
    let count = tags.len();
    tags.sort_unstable();
    tags.dedup();
    let mut out =
        format!("age-encrypted {kind} ({form} age v1)\nrecipients: {count} ({})\nsize: {} bytes\n", tags.join(", "), info.plaintext_len);
    out.push_str(&value_line(bytes, escrow, identity));
    out
}

fn value_line(bytes: &[u8], escrow: bool, identity: Option<&Identity>) -> String {
    let Some(id) = identity else { return "value: not shown (no key at hand to fingerprint it)\n".into() };
    let plain = match crypto::decrypt(id, bytes) {
        Ok(p) => p,
        Err(crypto::DecryptFailure::NotAuthorized) => return "value: not shown (the key at hand cannot decrypt it)\n".into(),
        Err(crypto::DecryptFailure::Corrupt(why)) => return format!("value: does not decrypt ({why})\n"),
    };
    if escrow {
        let key = std::str::from_utf8(plain.expose_secret()).ok().and_then(|t| Identity::parse(t).ok());
        return match key {
            Some(k) => format!("holds the identity of {}\n", k.recipient()),
            None => "holds no valid identity\n".into(),
        };
    }
    format!("value fingerprint: {} (keyed; changes only when the value changes)\n", fingerprint(id, plain.expose_secret()))
}

/// Hex of the first 8 bytes of HMAC-SHA256(value) under a key derived from the identity.
pub fn fingerprint(identity: &Identity, value: &[u8]) -> String {
    let secret = identity.to_key_file("");
    let key = Sha256::new().chain_update(LABEL).chain_update(secret.as_bytes()).finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(value);
    mac.finalize().into_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_metadata_and_a_stable_keyed_fingerprint_only() {
        let (owner, other) = (Identity::generate(), Identity::generate());
        let a = crypto::encrypt(&[owner.recipient(), other.recipient()], b"hunter2-value").unwrap();
        let b = crypto::encrypt(&[owner.recipient()], b"hunter2-value").unwrap();
        let c = crypto::encrypt(&[owner.recipient()], b"another-value").unwrap();
        let (ta, tb, tc) = (render(&a, false, Some(&owner)), render(&b, false, Some(&owner)), render(&c, false, Some(&owner)));
        assert!(ta.contains("recipients: 2 (X25519)") && ta.contains("size: 13 bytes"), "{ta}");
        let fp = |t: &str| t.lines().find(|l| l.starts_with("value fingerprint")).unwrap().to_owned();
        assert_eq!(fp(&ta), fp(&tb), "re-encryption keeps the fingerprint");
        assert_ne!(fp(&ta), fp(&tc), "a new value changes it");
        assert!(!ta.contains("hunter2"));
        assert!(render(&c, false, None).contains("no key at hand"));
        assert!(render(b"junk", false, Some(&owner)).contains("not a valid age file"));
    }
}
