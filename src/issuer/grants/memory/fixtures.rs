//! The grant the memory stores' unit tests issue codes and start families for.

use crate::issuer::grants::CodeGrant;

pub(super) fn grant() -> CodeGrant {
    CodeGrant {
        client_id: "web".into(),
        redirect_uri: "https://shop.example/cb".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        customer_id: "cust-1".into(),
        account: "acct-1".into(),
        scope: "orders:read".into(),
        nonce: Some("n".into()),
        auth_time: 1,
    }
}
