//! How one host's session tokens are verified, fixed by the relay's configuration and never by the
//! token: an HMAC secret (HS256) shared with a host that mints on its own server, or an RSA public key
//! (RS256) whose private half never leaves the host (Salesforce signs with a certificate from its
//! Certificate and Key Management, so no secret sits in the org).
//!
//! A public key is read from PEM: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo), `BEGIN RSA PUBLIC KEY`
//! (PKCS#1) or `BEGIN CERTIFICATE` (the X.509 certificate as Salesforce downloads it; only its public
//! key is taken, its dates and issuer are the admin's business). RSA lives in the `full` feature; the
//! sidebar's build refuses every key.

/// Why a PEM text is not a usable public key; safe to show.
pub const PUBLIC_KEY_PROBLEM: &str = "must be an RSA public key or certificate in PEM form (\"BEGIN PUBLIC KEY\", \"BEGIN RSA PUBLIC KEY\" or \"BEGIN CERTIFICATE\"), 2048 to 8192 bits";

/// A host's verification key.
#[derive(Clone, PartialEq, Eq)]
pub enum HostKey {
    /// HS256 with this secret.
    Secret(Vec<u8>),
    /// RS256 with this public key.
    Public(PublicKey),
}

impl std::fmt::Debug for HostKey {
    // A secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostKey::Secret(_) => f.write_str("HostKey::Secret(..)"),
            HostKey::Public(key) => write!(f, "HostKey::Public({key:?})"),
        }
    }
}

/// The base64 body of a PEM block with `label`, decoded; `None` when the text is not one.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = crate::crm::normalised_pem(pem);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let inner = text.strip_prefix(&begin)?.trim_end().strip_suffix(&end)?;
    let joined: String = inner.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(joined).ok()
}

/// One DER element: its tag, its content and what follows it.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = rest.get(..count)?;
        let length =
            bytes.iter().try_fold(0usize, |length, byte| length.checked_mul(256)?.checked_add(usize::from(*byte)))?;
        (length, rest.get(count..)?)
    };
    Some((tag, rest.get(..length)?, rest.get(length..)?))
}

/// The SubjectPublicKeyInfo (the whole element) of an X.509 certificate in DER: the seventh field of
/// tbsCertificate when the optional `[0]` version comes first, else the sixth.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
fn certificate_public_key(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let (tag, certificate, _) = der_element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = der_element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    if let Some((0xa0, _, after)) = der_element(rest) {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        rest = der_element(rest)?.2;
    }
    let (tag, _, after) = der_element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    rest.get(..rest.len() - after.len())
}

#[cfg(feature = "full")]
mod imp {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPublicKey;
    use sha2::{Digest, Sha256};

    /// A parsed RSA public key, ready to verify RS256 signatures.
    #[derive(Clone)]
    pub struct PublicKey {
        key: rsa::pkcs1v15::VerifyingKey<Sha256>,
        /// SHA-256 of the modulus: names the key for equality and messages.
        fingerprint: [u8; 32],
    }

    impl PublicKey {
        pub fn from_pem(pem: &str) -> Result<PublicKey, &'static str> {
            let key = if let Some(der) = super::pem_body(pem, "CERTIFICATE") {
                super::certificate_public_key(&der).and_then(|spki| RsaPublicKey::from_public_key_der(spki).ok())
            } else if let Some(der) = super::pem_body(pem, "PUBLIC KEY") {
                RsaPublicKey::from_public_key_der(&der).ok()
            } else if let Some(der) = super::pem_body(pem, "RSA PUBLIC KEY") {
                RsaPublicKey::from_pkcs1_der(&der).ok()
            } else {
                None
            };
            let key = key.ok_or(super::PUBLIC_KEY_PROBLEM)?;
            if !(2048..=8192).contains(&key.n().bits()) {
                return Err(super::PUBLIC_KEY_PROBLEM);
            }
            let fingerprint: [u8; 32] = Sha256::digest(key.n().to_bytes_be()).into();
            Ok(PublicKey { key: rsa::pkcs1v15::VerifyingKey::new(key), fingerprint })
        }

        /// Whether `signature` is this key's RS256 signature of `input`.
        pub fn verifies(&self, input: &[u8], signature: &[u8]) -> bool {
            rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|signature| self.key.verify(input, &signature).is_ok())
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
    pub struct PublicKey(std::convert::Infallible);

    impl PublicKey {
        pub fn from_pem(_pem: &str) -> Result<PublicKey, &'static str> {
            Err("needs the full build of the core (this build has no RSA)")
        }
        pub fn verifies(&self, _input: &[u8], _signature: &[u8]) -> bool {
            match self.0 {}
        }
        pub fn fingerprint(&self) -> [u8; 32] {
            match self.0 {}
        }
    }
}

pub use imp::PublicKey;

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.fingerprint() == other.fingerprint()
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short: String = self.fingerprint().iter().take(4).map(|b| format!("{b:02x}")).collect();
        write!(f, "PublicKey(sha256 of modulus {short}…)")
    }
}
