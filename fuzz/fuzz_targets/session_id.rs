//! Session ID parsing (`tollgate::session::SessionId::parse`).
//!
//! Input: the candidate ID (invalid UTF-8 is replaced).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::session::SessionId;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let parsed = SessionId::parse(&s);
    assert_eq!(parsed.is_some(), SessionId::is_well_formed(&s));
    if let Some(id) = parsed {
        assert_eq!(id.as_str(), s);
        assert_eq!(s.len(), "sess_".len() + 43);
        assert!(id.as_str().starts_with(id.redacted()));
        assert!(id.redacted().len() < id.as_str().len());
        // Serde round trip goes through `parse` again.
        let json = serde_json::to_string(&id).expect("serialize");
        let back: SessionId = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, id);
        let _ = format!("{id:?}");
    } else {
        let json = serde_json::to_string(&*s).expect("serialize");
        assert!(serde_json::from_str::<SessionId>(&json).is_err());
    }
});
