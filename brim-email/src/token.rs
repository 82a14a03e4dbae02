//! Signed tokens for unsubscribe, open and click links.
//!
//! A token is `base64url(payload).base64url(HMAC-SHA256(secret, payload)[..16])`; the payload
//! says what it is for (`u` unsubscribe, `o` open, `c` click), the queue row's id and, for a
//! click, the destination URL, so a tracking endpoint can only redirect to a URL that was
//! signed into the e-mail (no open redirect) and nobody can unsubscribe someone else.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a token (128 bits).
const MAC_BYTES: usize = 16;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// One-click unsubscribe.
    Unsubscribe,
    /// The open pixel.
    Open,
    /// A tracked link.
    Click,
}

impl TokenKind {
    fn tag(self) -> char {
        match self {
            TokenKind::Unsubscribe => 'u',
            TokenKind::Open => 'o',
            TokenKind::Click => 'c',
        }
    }
}

/// A verified token's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// What it is for.
    pub kind: TokenKind,
    /// The e-mail (queue row id).
    pub email_id: i64,
    /// The destination of a click.
    pub url: Option<String>,
}

/// A token that is not valid: malformed, or signed with another secret, or for another purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

/// Signs and verifies tokens with a secret. The secret is never printed (`Debug` hides it).
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    /// A signer with `secret` (at least 16 bytes).
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Signer> {
        let key = secret.as_ref().to_vec();
        if key.len() < 16 {
            return Err(Error::config(
                "BRIM_SECRET",
                "the signing secret must be at least 16 bytes",
            ));
        }
        Ok(Signer { key })
    }

    /// Reads the secret from `path`, creating it (32 random bytes, hex, mode 0600) when the file
    /// does not exist — so a development install signs links that stay valid across restarts
    /// without anyone choosing a secret.
    pub fn load_or_create(path: &Path) -> Result<Signer> {
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Signer::new(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom(&mut bytes).map_err(io)?;
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                use std::io::Write;
                let mut file = options.open(path).map_err(io)?;
                file.write_all(hex.as_bytes()).map_err(io)?;
                Signer::new(hex)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    /// A token for `kind` on e-mail `email_id` (and `url` for a click).
    pub fn sign(&self, kind: TokenKind, email_id: i64, url: Option<&str>) -> String {
        let payload = format!("{}.{email_id}.{}", kind.tag(), url.unwrap_or(""));
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()))
        )
    }

    /// Checks a token's signature (in constant time) and that it is for `kind`.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, InvalidToken> {
        let (payload, mac) = token.split_once('.').ok_or(InvalidToken)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidToken)?;
        let given = URL_SAFE_NO_PAD.decode(mac).map_err(|_| InvalidToken)?;
        let mut check = HmacSha256::new_from_slice(&self.key).map_err(|_| InvalidToken)?;
        check.update(&payload);
        check
            .verify_truncated_left(&given)
            .map_err(|_| InvalidToken)?;
        if given.len() != MAC_BYTES {
            return Err(InvalidToken);
        }
        let text = String::from_utf8(payload).map_err(|_| InvalidToken)?;
        let mut parts = text.splitn(3, '.');
        let tag = parts.next().ok_or(InvalidToken)?;
        let id = parts.next().ok_or(InvalidToken)?;
        let url = parts.next().ok_or(InvalidToken)?;
        if tag.len() != 1 || !tag.starts_with(kind.tag()) {
            return Err(InvalidToken);
        }
        Ok(Claims {
            kind,
            email_id: id.parse().map_err(|_| InvalidToken)?,
            url: (!url.is_empty()).then(|| url.to_string()),
        })
    }
}

/// Fills `buf` from the operating system's random source.
fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let s = Signer::new("0123456789abcdef-secret").unwrap();
        let t = s.sign(TokenKind::Click, 42, Some("https://brim.dev/a.b?c=d"));
        let c = s.verify(&t, TokenKind::Click).unwrap();
        assert_eq!(
            (c.email_id, c.url.as_deref()),
            (42, Some("https://brim.dev/a.b?c=d"))
        );
        assert_eq!(s.verify(&t, TokenKind::Open), Err(InvalidToken));
        let other = Signer::new("another secret of 16+ bytes").unwrap();
        assert_eq!(other.verify(&t, TokenKind::Click), Err(InvalidToken));
        // A changed URL with the old MAC fails.
        let forged_payload = URL_SAFE_NO_PAD.encode("c.42.https://evil.example");
        let forged = format!("{forged_payload}.{}", t.split_once('.').unwrap().1);
        assert_eq!(s.verify(&forged, TokenKind::Click), Err(InvalidToken));
        for junk in ["", ".", "a.b", "!!!.???", &t[..t.len() - 2]] {
            assert_eq!(
                s.verify(junk, TokenKind::Click),
                Err(InvalidToken),
                "{junk}"
            );
        }
        assert!(format!("{s:?}").contains("redacted"));
        assert!(Signer::new("short").is_err());
    }

    #[test]
    fn a_secret_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brim.secret");
        let a = Signer::load_or_create(&path).unwrap();
        let b = Signer::load_or_create(&path).unwrap();
        let t = a.sign(TokenKind::Unsubscribe, 7, None);
        assert_eq!(b.verify(&t, TokenKind::Unsubscribe).unwrap().email_id, 7);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
