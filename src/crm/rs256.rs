//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signing for Salesforce's OAuth JWT bearer grant.
//!
//! The key is parsed once, when the configuration is read, from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`). It never appears in `Debug` output or in an error: errors say
//! what is wrong with the key, never what it holds.
//!
//! The `rsa` crate (pure Rust, builds for wasm32) is part of the `full` feature only: the sidebar's
//! build (`--no-default-features`) has no use for it, and there every key is refused.
//!
//! Each signature is blinded (a random factor masks the value the private exponent is applied to), so
//! its timing says nothing useful about the key. The blinding factor comes from a ChaCha20 stream
//! seeded with HMAC-SHA256 keyed by a digest of the private key over the signing input: unpredictable
//! without the key, and no system randomness is needed (there is none in every wasm host).

/// Why a PEM text is not a usable private key; safe to show (it never quotes the text).
#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub const KEY_PROBLEM: &str = "must be an unencrypted RSA private key in PEM form (PKCS#8 \"BEGIN PRIVATE KEY\" or PKCS#1 \"BEGIN RSA PRIVATE KEY\"), 2048 to 8192 bits";

/// PEM text as it arrives from an environment variable: one line with `\n` escapes is accepted too.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub(crate) fn normalised_pem(pem: &str) -> String {
    pem.trim().replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n")
}

#[cfg(feature = "full")]
mod imp {
    use hmac::{Hmac, Mac};
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    use rsa::RsaPrivateKey;
    use sha2::{Digest, Sha256};

    /// A parsed RSA private key, ready to sign.
    #[derive(Clone)]
    pub struct SigningKey {
        key: rsa::pkcs1v15::SigningKey<Sha256>,
        /// SHA-256 of the key's modulus: names the key (equality, shared-key checks) without
        /// revealing anything secret.
        fingerprint: [u8; 32],
        /// Keys the blinding stream; derived from the private key, so as secret as it.
        blinding_key: [u8; 32],
    }

    impl SigningKey {
        pub fn from_pem(pem: &str) -> Result<SigningKey, &'static str> {
            let pem = super::normalised_pem(pem);
            let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
                RsaPrivateKey::from_pkcs1_pem(&pem).ok()
            } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
                RsaPrivateKey::from_pkcs8_pem(&pem).ok()
            } else {
                None
            };
            let key = key.ok_or(super::KEY_PROBLEM)?;
            let bits = key.n().bits();
            if !(2048..=8192).contains(&bits) {
                return Err(super::KEY_PROBLEM);
            }
            let fingerprint: [u8; 32] = Sha256::digest(key.n().to_bytes_be()).into();
            let mut secret = Sha256::new();
            secret.update(b"spotdraft-crm rs256 blinding\0");
            secret.update(key.d().to_bytes_be());
            let blinding_key: [u8; 32] = secret.finalize().into();
            Ok(SigningKey { key: rsa::pkcs1v15::SigningKey::new(key), fingerprint, blinding_key })
        }

        /// The RS256 signature of `input` (the JWT's `header.claims`).
        pub fn sign(&self, input: &[u8]) -> Vec<u8> {
            let seed: [u8; 32] = match <Hmac<Sha256> as Mac>::new_from_slice(&self.blinding_key) {
                Ok(mut mac) => {
                    mac.update(input);
                    mac.finalize().into_bytes().into()
                }
                // HMAC takes keys of any length; this arm is never taken.
                Err(_) => Sha256::digest(input).into(),
            };
            let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
            self.key.sign_with_rng(&mut rng, input).to_vec()
        }

        pub fn fingerprint(&self) -> [u8; 32] {
            self.fingerprint
        }
    }
}

#[cfg(not(feature = "full"))]
mod imp {
    /// Without the `full` feature there is no RSA: no key parses, so none is ever held.
    #[derive(Clone)]
    pub struct SigningKey(std::convert::Infallible);

    impl SigningKey {
        pub fn from_pem(_pem: &str) -> Result<SigningKey, &'static str> {
            Err("needs the full build of the core (this build has no RSA)")
        }
        pub fn sign(&self, _input: &[u8]) -> Vec<u8> {
            match self.0 {}
        }
        pub fn fingerprint(&self) -> [u8; 32] {
            match self.0 {}
        }
    }
}

pub use imp::SigningKey;

impl PartialEq for SigningKey {
    fn eq(&self, other: &SigningKey) -> bool {
        self.fingerprint() == other.fingerprint()
    }
}

impl Eq for SigningKey {}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The key's fingerprint as hex, or `None` when the text is not a usable key (for the check that
/// UAT and production do not share a key, whatever PEM form each is written in).
pub fn fingerprint_of(pem: &str) -> Option<String> {
    let key = SigningKey::from_pem(pem).ok()?;
    Some(key.fingerprint().iter().map(|b| format!("{b:02x}")).collect())
}
