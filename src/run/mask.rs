//! The streaming masker: replaces every form of every secret value (see `forms`) in a byte stream
//! with `<redacted:PATH>`, however the stream is cut into reads.
//!
//! One [`Masker`] (an Aho-Corasick automaton, leftmost-longest) is shared by any number of
//! [`MaskStream`]s, one per output stream. A stream holds back only the bytes that could still
//! be the start of a secret (a carry-over shorter than the longest form); everything else is
//! released as soon as it is read, so interactive output is not delayed. Pure: bytes in, bytes
//! out; no I/O here.

use aho_corasick::{AhoCorasick, MatchKind};
use zeroize::Zeroizing;

use super::forms::{self, MIN_MASK_LEN};

/// A value to mask and the name it is replaced by.
pub struct Secret<'a> {
    pub label: &'a str,
    pub value: &'a [u8],
}

/// The compiled set of forms to replace.
pub struct Masker {
    ac: Option<AhoCorasick>,
    /// The replacement of each pattern, by pattern id.
    replacements: Vec<Vec<u8>>,
    /// Every pattern, sorted, to tell whether held-back bytes could start one.
    sorted: Vec<Zeroizing<Vec<u8>>>,
    max_len: usize,
    unmasked: Vec<String>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker").field("patterns", &self.sorted.len()).field("unmasked", &self.unmasked).finish()
    }
}

impl Masker {
    /// Builds the masker. A value shorter than [`MIN_MASK_LEN`] bytes is not masked; its label is
    /// listed by [`Masker::unmasked`]. When two secrets share a form, the first one's label wins.
    pub fn new(secrets: &[Secret]) -> Masker {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut replacements = Vec::new();
        let mut unmasked = Vec::new();
        for s in secrets {
            if s.value.trim_ascii().len() < MIN_MASK_LEN {
                unmasked.push(s.label.to_owned());
            }
            for form in forms::forms(s.value) {
                if !patterns.iter().any(|p| p.as_slice() == form.as_slice()) {
                    patterns.push(form);
                    replacements.push(format!("<redacted:{}>", s.label).into_bytes());
                }
            }
        }
        let ac = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(patterns.iter().map(|p| p.as_slice()))
                .expect("a few short literal patterns always build")
        });
        let max_len = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut sorted = patterns;
        sorted.sort_by(|a, b| a.as_slice().cmp(b.as_slice()));
        Masker { ac, replacements, sorted, max_len, unmasked }
    }

    /// The labels of the values too short to be masked.
    pub fn unmasked(&self) -> &[String] {
        &self.unmasked
    }

    /// A new stream with an empty carry-over.
    pub fn stream(self: &std::sync::Arc<Self>) -> MaskStream {
        MaskStream { masker: self.clone(), carry: Zeroizing::new(Vec::new()) }
    }

    /// Masks a complete buffer in one go.
    pub fn mask_all(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        self.scan(input, true, &mut out);
        out
    }

    /// Appends the masked, final part of `buf` to `out`; returns where the held-back part starts.
    fn scan(&self, buf: &[u8], eof: bool, out: &mut Vec<u8>) -> usize {
        let Some(ac) = &self.ac else {
            out.extend_from_slice(buf);
            return buf.len();
        };
        // A match starting before `settled` lies wholly inside `buf`, so it cannot change.
        let settled = if eof { buf.len() } else { buf.len().saturating_sub(self.max_len - 1) };
        let (mut pos, mut pending) = (0, None);
        for m in ac.find_iter(buf) {
            if !eof && m.start() >= settled {
                pending = Some(m.start());
                break;
            }
            out.extend_from_slice(&buf[pos..m.start()]);
            out.extend_from_slice(&self.replacements[m.pattern().as_usize()]);
            pos = m.end();
        }
        let from = pos.max(settled).min(buf.len());
        out.extend_from_slice(&buf[pos..from]);
        let hold = (from..buf.len()).find(|&i| pending == Some(i) || self.could_start(&buf[i..])).unwrap_or(buf.len());
        out.extend_from_slice(&buf[from..hold]);
        hold
    }

    /// Whether some pattern starts with `bytes`.
    fn could_start(&self, bytes: &[u8]) -> bool {
        let i = self.sorted.partition_point(|p| p.as_slice() < bytes);
        self.sorted.get(i).is_some_and(|p| p.starts_with(bytes))
    }
}

/// The masking state of one output stream.
pub struct MaskStream {
    masker: std::sync::Arc<Masker>,
    carry: Zeroizing<Vec<u8>>,
}

impl MaskStream {
    /// Masks the next chunk; appends what can be released now to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.carry.extend_from_slice(chunk);
        let hold = self.masker.scan(&self.carry, false, out);
        self.carry.drain(..hold);
    }

    /// The end of the stream: releases the held-back bytes, masked.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.masker.scan(&self.carry, true, out);
        self.carry.clear();
    }

    /// How many bytes are held back.
    pub fn held(&self) -> usize {
        self.carry.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;

    fn masker(secrets: &[(&str, &[u8])]) -> Arc<Masker> {
        let list: Vec<Secret> = secrets.iter().map(|(l, v)| Secret { label: l, value: v }).collect();
        Arc::new(Masker::new(&list))
    }

    fn streamed(m: &Arc<Masker>, input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut s = m.stream();
        let (mut out, mut last) = (Vec::new(), 0);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort();
        for c in cuts {
            s.push(&input[last..c], &mut out);
            last = c;
        }
        s.push(&input[last..], &mut out);
        s.finish(&mut out);
        out
    }

    #[test]
    fn replaces_values_and_their_encodings() {
        let m = masker(&[("db/pass", b"hunter2-xyz")]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"hunter2-xyz");
        let input = format!("a hunter2-xyz b {b64} c hunter2%2Dxyz d");
        let out = String::from_utf8(m.mask_all(input.as_bytes())).unwrap();
        assert_eq!(out, "a <redacted:db/pass> b <redacted:db/pass> c hunter2%2Dxyz d");
    }

    #[test]
    fn longest_form_wins() {
        let m = masker(&[("a", b"abcd"), ("b", b"abcdef")]);
        assert_eq!(m.mask_all(b"xabcdefx"), b"x<redacted:b>x");
        assert_eq!(streamed(&m, b"xabcdefx", &[2, 4, 5]), b"x<redacted:b>x");
    }

    #[test]
    fn holds_back_only_possible_starts() {
        let m = masker(&[("k", b"secret-value")]);
        let mut s = m.stream();
        let mut out = Vec::new();
        s.push(b"Password: ", &mut out);
        assert_eq!(out, b"Password: ", "nothing that could start a secret is held back");
        s.push(b"ok secr", &mut out);
        assert_eq!(out, b"Password: ok ");
        assert_eq!(s.held(), 4);
        s.push(b"et-value!", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"Password: ok <redacted:k>!");
    }

    #[test]
    fn short_values_are_listed_not_masked() {
        let m = masker(&[("pin", b"123"), ("k", b"long-enough")]);
        assert_eq!(m.unmasked(), ["pin".to_owned()]);
        assert_eq!(m.mask_all(b"123 long-enough"), b"123 <redacted:k>");
    }

    #[test]
    fn no_secrets_passes_everything() {
        let m = masker(&[]);
        assert_eq!(streamed(&m, b"hello", &[1, 3]), b"hello");
    }

    const ALPHABET: &[u8] = b"0123456789XYZ+/=% \"";

    fn secret() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(ALPHABET), 4..24)
            .prop_filter("maskable", |v| v.trim_ascii().len() >= MIN_MASK_LEN)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// However the output is cut into reads, the result is the one-shot result, and no
        /// raw value survives.
        #[test]
        fn split_points_never_leak(
            secrets in proptest::collection::vec(secret(), 1..4),
            filler in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(ALPHABET), 0..12), 1..6),
            cuts in proptest::collection::vec(0usize..1000, 0..12),
        ) {
            let labels = ["p", "q", "w"];
            let list: Vec<(&str, &[u8])> = secrets.iter().zip(labels).map(|(s, l)| (l, s.as_slice())).collect();
            let m = masker(&list);
            let mut input = Vec::new();
            for (i, f) in filler.iter().enumerate() {
                input.extend_from_slice(f);
                input.extend_from_slice(&secrets[i % secrets.len()]);
            }
            let once = m.mask_all(&input);
            let out = streamed(&m, &input, &cuts);
            prop_assert_eq!(&out, &once);
            for s in &secrets {
                prop_assert!(!out.windows(s.len()).any(|w| w == s.as_slice()), "a value leaked");
            }
        }

        /// Every encoded form is masked, whatever the split.
        #[test]
        fn encoded_forms_never_leak(value in secret(), cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let m = masker(&[("s", &value)]);
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            for e in engines {
                let encoded = e.encode(&value);
                let input = format!("<{encoded}>");
                let out = streamed(&m, input.as_bytes(), &cuts);
                prop_assert!(!out.windows(encoded.len()).any(|w| w == encoded.as_bytes()));
            }
            let json = serde_json::to_string(&String::from_utf8(value.clone()).unwrap()).unwrap();
            let inner = &json[1..json.len() - 1];
            let out = streamed(&m, json.as_bytes(), &cuts);
            prop_assert!(!out.windows(inner.len()).any(|w| w == inner.as_bytes()));
        }
    }
}
