//! PKCE (RFC 7636, S256) and the `state` value that ties a callback to the login that started it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A PKCE verifier and its S256 challenge. The verifier is secret until the token exchange.
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// 64 random bytes from the OS-seeded CSPRNG, base64url: an 86-character verifier (RFC 7636 allows
    /// 43–128 characters from the unreserved set, which base64url without padding stays inside).
    pub fn generate() -> Pkce {
        let mut bytes = [0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        Pkce::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A verifier handed to us (the Codex device flow returns one).
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = challenge_for(&verifier);
        Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    pub fn verifier(&self) -> &str {
        self.verifier.expose_secret()
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"[REDACTED]")
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// `base64url(sha256(verifier))` without padding.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh random `state`: 32 bytes, base64url (43 characters).
pub fn random_state() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_long_enough_unreserved_and_distinct() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert!((43..=128).contains(&a.verifier().len()));
        assert!(a
            .verifier()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c)));
        assert_ne!(a.verifier(), b.verifier());
        assert_eq!(a.challenge(), challenge_for(a.verifier()));
        assert!(!format!("{a:?}").contains(a.verifier()));
        assert_ne!(random_state(), random_state());
        assert_eq!(random_state().len(), 43);
    }
}
