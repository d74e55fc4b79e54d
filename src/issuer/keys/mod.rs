//! Signing keys and the key ring: one active key signs, previous keys stay
//! published for verification until retired (rotation without downtime).

mod algorithm;
mod files;
mod pkcs8_pem;
mod ring;
mod signing_key;

pub use algorithm::SigningAlgorithm;
pub use ring::KeyRing;
pub use signing_key::SigningKey;
