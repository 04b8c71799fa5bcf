//! age encryption on bytes: identities, recipients, encrypt, decrypt, header inspection.
//!
//! Only X25519 (`age1…` / `AGE-SECRET-KEY-1…`) keys are used by vaults. Plaintext comes back in
//! `secrecy` types so every access to it is a visible `expose_secret()`. Nothing here reads files
//! or the environment; `keys` finds identities, `store` writes ciphertext.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use secrecy::{SecretSlice, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// An age X25519 identity (private key) and its recipient.
#[derive(Clone)]
pub struct Identity {
    inner: age::x25519::Identity,
    recipient: Recipient,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.recipient)
    }
}

impl Identity {
    pub fn generate() -> Self {
        Self::from_inner(age::x25519::Identity::generate())
    }

    fn from_inner(inner: age::x25519::Identity) -> Self {
        let recipient = Recipient(inner.to_public());
        Identity { inner, recipient }
    }

    /// Parses an identity file: one `AGE-SECRET-KEY-1…` line, with optional `#` comments and
    /// blank lines (the `age-keygen` form). The error never contains key material.
    pub fn parse(text: &str) -> std::result::Result<Self, &'static str> {
        let mut found = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if found.is_some() {
                return Err("the key file holds more than one identity");
            }
            let id =
                age::x25519::Identity::from_str(line).map_err(|_| "the key file does not hold a valid age identity (AGE-SECRET-KEY-1…)")?;
            found = Some(id);
        }
        found.map(Self::from_inner).ok_or("the key file holds no age identity")
    }

    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The identity in the `age-keygen` file form, ready to be written to a key file.
    pub fn to_key_file(&self, created: &str) -> Zeroizing<String> {
        let secret: SecretString = self.inner.to_string();
        Zeroizing::new(format!("# created: {created}\n# public key: {}\n{}\n", self.recipient, secret.expose_secret()))
    }

    pub(crate) fn as_age(&self) -> &age::x25519::Identity {
        &self.inner
    }
}

/// An age X25519 recipient (`age1…`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Recipient(age::x25519::Recipient);

impl Recipient {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let t = text.trim();
        age::x25519::Recipient::from_str(t).map(Recipient).map_err(|e| format!("{t:?} is not an age recipient (age1…): {e}"))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Encrypts `plaintext` to every recipient, in the binary age v1 format.
pub fn encrypt(recipients: &[&Recipient], plaintext: &[u8]) -> Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| &r.0 as &dyn age::Recipient))
        .map_err(|e| Error::internal(format!("cannot encrypt: {e}")))?;
    let mut out = Vec::with_capacity(plaintext.len() + 200 + 100 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| Error::internal(format!("cannot encrypt: {e}")))?;
    writer.write_all(plaintext).map_err(|e| Error::internal(format!("cannot encrypt: {e}")))?;
    writer.finish().map_err(|e| Error::internal(format!("cannot encrypt: {e}")))?;
    Ok(out)
}

/// Why a ciphertext did not decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptFailure {
    /// The ciphertext is not encrypted to this identity.
    NotAuthorized,
    /// The file is not a valid age file, or it was tampered with.
    Corrupt(String),
}

/// Decrypts binary or ASCII-armored age ciphertext with one identity.
pub fn decrypt(identity: &Identity, ciphertext: &[u8]) -> std::result::Result<SecretSlice<u8>, DecryptFailure> {
    let armored = age::armor::ArmoredReader::new(ciphertext);
    let decryptor = age::Decryptor::new_buffered(armored).map_err(corrupt)?;
    let mut reader = decryptor.decrypt(std::iter::once(identity.as_age() as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => DecryptFailure::NotAuthorized,
        other => corrupt(other),
    })?;
    let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader.read_to_end(&mut plain).map_err(corrupt)?;
    Ok(SecretSlice::from(std::mem::take(&mut *plain)))
}

/// Whether the identity unwraps the file key (the payload is not read).
pub fn can_decrypt(identity: &Identity, ciphertext: &[u8]) -> std::result::Result<bool, DecryptFailure> {
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(ciphertext)).map_err(corrupt)?;
    match decryptor.decrypt(std::iter::once(identity.as_age() as &dyn age::Identity)) {
        Ok(_) => Ok(true),
        Err(age::DecryptError::NoMatchingKeys) => Ok(false),
        Err(e) => Err(corrupt(e)),
    }
}

fn corrupt(e: impl fmt::Display) -> DecryptFailure {
    DecryptFailure::Corrupt(e.to_string())
}

impl DecryptFailure {
    /// The library error for a failure to read `what` (a file name, never a value).
    pub fn into_error(self, what: &str) -> Error {
        match self {
            DecryptFailure::NotAuthorized => Error::new(ErrorKind::NotAuthorized, format!("this key cannot decrypt {what}"))
                .hint("the key is not among the recipients: ask an owner to grant access, or pass the right key with --key"),
            DecryptFailure::Corrupt(reason) => Error::new(ErrorKind::Io, format!("{what} is corrupt: {reason}"))
                .hint("restore it from git history, or run `git vault check` to see the damage"),
        }
    }
}

/// What the header of an age file says, without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    pub armored: bool,
    /// Stanza types, one per recipient, e.g. `X25519`.
    pub stanzas: Vec<String>,
    /// Size of the plaintext the payload holds.
    pub plaintext_len: u64,
}

impl HeaderInfo {
    /// The stanza types that stand for a recipient: all but the random "grease" stanza age adds
    /// to every header, which is nobody's key.
    pub fn recipient_stanzas(&self) -> Vec<&str> {
        self.stanzas.iter().map(String::as_str).filter(|t| !t.ends_with("-grease")).collect()
    }
}

const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
const CHUNK: u64 = 64 * 1024;
const TAG: u64 = 16;

/// Reads the recipient stanzas and payload size of an age file.
pub fn inspect(ciphertext: &[u8]) -> std::result::Result<HeaderInfo, String> {
    let armored = ciphertext.trim_ascii_start().starts_with(ARMOR_BEGIN);
    let binary = if armored {
        let mut out = Vec::new();
        age::armor::ArmoredReader::new(ciphertext).read_to_end(&mut out).map_err(|e| format!("bad armor: {e}"))?;
        out
    } else {
        ciphertext.to_vec()
    };
    let (stanzas, header_len) = parse_header(&binary)?;
    let payload = (binary.len() - header_len) as u64;
    if payload < 16 + TAG {
        return Err("truncated payload".into());
    }
    let body = payload - 16;
    let chunks = body.div_ceil(CHUNK + TAG).max(1);
    Ok(HeaderInfo { armored, stanzas, plaintext_len: body.saturating_sub(chunks * TAG) })
}

fn parse_header(data: &[u8]) -> std::result::Result<(Vec<String>, usize), String> {
    if !data.starts_with(AGE_MAGIC) {
        return Err("not an age v1 file".into());
    }
    let mut pos = AGE_MAGIC.len();
    let mut stanzas = Vec::new();
    loop {
        let end = data[pos..].iter().position(|&b| b == b'\n').ok_or("truncated header")? + pos;
        let line = &data[pos..end];
        if line.starts_with(b"--- ") {
            return Ok((stanzas, end + 1));
        }
        if let Some(rest) = line.strip_prefix(b"-> ") {
            let tag = rest.split(|&b| b == b' ').next().unwrap_or_default();
            stanzas.push(String::from_utf8_lossy(tag).into_owned());
        }
        pos = end + 1;
        if pos >= data.len() {
            return Err("truncated header".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_to_several_recipients() {
        let (a, b, c) = (Identity::generate(), Identity::generate(), Identity::generate());
        let ct = encrypt(&[a.recipient(), b.recipient()], b"\x00\xffbytes").unwrap();
        assert_eq!(decrypt(&a, &ct).unwrap().expose_secret(), b"\x00\xffbytes");
        assert_eq!(decrypt(&b, &ct).unwrap().expose_secret(), b"\x00\xffbytes");
        assert_eq!(decrypt(&c, &ct).unwrap_err(), DecryptFailure::NotAuthorized);
        let info = inspect(&ct).unwrap();
        assert_eq!(info.recipient_stanzas(), vec!["X25519", "X25519"]);
        assert_eq!(info.plaintext_len, 7);
    }

    #[test]
    fn payload_size_across_chunks() {
        let a = Identity::generate();
        for len in [0usize, 1, 65535, 65536, 65537, 200_000] {
            let ct = encrypt(&[a.recipient()], &vec![7u8; len]).unwrap();
            assert_eq!(inspect(&ct).unwrap().plaintext_len, len as u64, "len {len}");
        }
    }

    #[test]
    fn corrupt_input_is_reported_not_panicked() {
        let a = Identity::generate();
        let mut ct = encrypt(&[a.recipient()], b"hello").unwrap();
        let n = ct.len();
        ct[n - 3] ^= 1;
        assert!(matches!(decrypt(&a, &ct), Err(DecryptFailure::Corrupt(_))));
        assert!(matches!(decrypt(&a, b"garbage"), Err(DecryptFailure::Corrupt(_))));
        assert!(inspect(b"garbage").is_err());
    }

    #[test]
    fn key_file_form_parses_back_and_errors_hide_the_key() {
        let a = Identity::generate();
        let file = a.to_key_file("2026-01-01T00:00:00Z");
        let b = Identity::parse(&file).unwrap();
        assert_eq!(a.recipient(), b.recipient());
        let two = format!("{}{}", &*file, &*file);
        assert!(Identity::parse(&two).is_err());
        let bad = "AGE-SECRET-KEY-1NOTAKEYNOTAKEYNOTAKEY";
        assert!(!Identity::parse(bad).unwrap_err().contains("NOTAKEY"));
    }
}
