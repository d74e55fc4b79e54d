//! [`FamilyId`]: the id of a refresh-token family, the visible half of
//! each of its refresh tokens.

use super::GrantStoreError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// Length of a [`FamilyId`]: base64url of 16 bytes.
pub const FAMILY_ID_LEN: usize = 22;

/// A refresh-token family id: 16 random bytes, base64url (22 chars). Not a
/// secret (it is the visible half of every refresh token of the family);
/// knowing it is never enough to use or revoke the family.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FamilyId(String);

impl FamilyId {
    /// A new random family id.
    pub fn generate() -> Result<Self, GrantStoreError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| GrantStoreError::Rng)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as text (22 base64url chars).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an id strictly: exactly 22 canonical base64url chars.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != FAMILY_ID_LEN {
            return None;
        }
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut bytes) {
            Ok(16) => Some(Self(s.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FamilyId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid refresh-token family id".to_owned())
    }
}

impl From<FamilyId> for String {
    fn from(id: FamilyId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_ids_are_22_canonical_chars() {
        let id = FamilyId::generate().unwrap();
        assert_eq!(id.as_str().len(), FAMILY_ID_LEN);
        assert_eq!(FamilyId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.to_string(), id.as_str());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<FamilyId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<FamilyId>("\"short\"").is_err());
        for bad in [
            "",
            "a",
            "AAAAAAAAAAAAAAAAAAAAA!",
            "AAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAB",
        ] {
            assert_eq!(FamilyId::parse(bad), None, "{bad:?}");
        }
        // Non-ASCII of the right byte length.
        assert_eq!(FamilyId::parse("ééééééééééé"), None);
    }
}
