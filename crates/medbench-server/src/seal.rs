//! Endpoint API keys at rest: sealed with ChaCha20-Poly1305.
//!
//! The key is `MEDBENCH_SEAL_KEY` (64 hex digits) when set, otherwise a random
//! key created once and kept in the bank's settings. With the default, a copy of
//! the database file is enough to unseal; set the variable to keep the two apart.
//! Either way a stored key is never shown again: no route returns it.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use medbench_store::{SqliteBank, StoreError};

const SETTING: &str = "server_seal_key";

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    /// The sealer of this bank (see the module docs for where the key comes from).
    pub fn for_bank(bank: &mut SqliteBank) -> Result<Sealer, StoreError> {
        let key: Vec<u8> = match std::env::var("MEDBENCH_SEAL_KEY") {
            Ok(h) => hex::decode(h.trim())
                .ok()
                .filter(|k| k.len() == 32)
                .ok_or_else(|| {
                    StoreError::Unsupported(
                        "MEDBENCH_SEAL_KEY must be 64 hex digits (32 bytes)".into(),
                    )
                })?,
            Err(_) => bank.setting_or_insert(SETTING, &crate::auth::random_bytes::<32>())?,
        };
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// Nonce (12 bytes) followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let nonce = crate::auth::random_bytes::<12>();
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                .expect("sealing in memory"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, String> {
        if sealed.len() < 12 {
            return Err("sealed key is truncated".into());
        }
        let (nonce, body) = sealed.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| {
                "the endpoint key cannot be unsealed (was MEDBENCH_SEAL_KEY changed?)".to_owned()
            })?;
        String::from_utf8(plain).map_err(|_| "sealed key is not text".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_round_trip_and_hide_the_secret() {
        let mut bank = SqliteBank::open(":memory:").unwrap();
        let s = Sealer::for_bank(&mut bank).unwrap();
        let sealed = s.seal("sk-very-secret");
        assert!(!String::from_utf8_lossy(&sealed).contains("sk-very-secret"));
        assert_eq!(s.open(&sealed).unwrap(), "sk-very-secret");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(s.open(&tampered).is_err());
        // The same bank gives the same key.
        assert_eq!(
            Sealer::for_bank(&mut bank).unwrap().open(&sealed).unwrap(),
            "sk-very-secret"
        );
    }
}
