//! Reading a proxy's certificate header: the size cap, the configured
//! format's decoding, and the SHA-256 thumbprint of the certificate.

use super::CertificateHeaderFormat;
use super::pem::{check_der, pem_der};
use super::xfcc::xfcc_thumbprint;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Why a certificate header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Larger than the configured maximum.
    TooLarge,
    /// Not the configured format, or not one certificate.
    Malformed,
}

/// The SHA-256 thumbprint of the certificate in a proxy header's value.
pub(crate) fn header_thumbprint(
    value: &[u8],
    format: CertificateHeaderFormat,
    max_bytes: usize,
) -> Result<[u8; 32], HeaderError> {
    if value.len() > max_bytes {
        return Err(HeaderError::TooLarge);
    }
    match format {
        CertificateHeaderFormat::Pem => pem_der(&percent_decode(value)?).map(|der| sha256(&der)),
        CertificateHeaderFormat::Base64Der => {
            let decoded = percent_decode(value)?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(decoded.trim_ascii())
                .map_err(|_| HeaderError::Malformed)?;
            check_der(&der)?;
            Ok(sha256(&der))
        }
        CertificateHeaderFormat::Xfcc => xfcc_thumbprint(value),
    }
}

pub(super) fn sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// `%XX` decoding (`+` stays `+`: it is a base64 character here).
pub(super) fn percent_decode(value: &[u8]) -> Result<Vec<u8>, HeaderError> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let (&[hi, lo], tail) = tail
                .split_first_chunk::<2>()
                .ok_or(HeaderError::Malformed)?;
            let hi = hex_digit(hi).ok_or(HeaderError::Malformed)?;
            let lo = hex_digit(lo).ok_or(HeaderError::Malformed)?;
            out.push(hi << 4 | lo);
            rest = tail;
        } else {
            out.push(b);
            rest = tail;
        }
    }
    Ok(out)
}

pub(super) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtls::{
        ClientCertificate, DEFAULT_MAX_CERTIFICATE_HEADER_BYTES, certificate_thumbprint,
    };

    /// A minimal DER `SEQUENCE` standing in for a certificate.
    fn der() -> Vec<u8> {
        let mut d = vec![0x30, 0x81, 200];
        d.extend((0..200u8).map(|i| i.wrapping_mul(7)));
        d
    }

    fn pem(der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    fn escape(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    const MAX: usize = DEFAULT_MAX_CERTIFICATE_HEADER_BYTES;

    #[test]
    fn thumbprints_agree() {
        let c = ClientCertificate::from_der(der());
        assert_eq!(c.thumbprint(), certificate_thumbprint(&der()));
        assert_eq!(c.sha256(), &sha256(&der()));
        assert_eq!(c.der(), der().as_slice());
        assert!(format!("{c:?}").contains(&c.thumbprint()));
    }

    #[test]
    fn escaped_and_plain_pem() {
        let want = sha256(&der());
        let escaped = escape(&pem(&der()));
        let got = header_thumbprint(escaped.as_bytes(), CertificateHeaderFormat::Pem, MAX);
        assert_eq!(got, Ok(want));
        // Newlines replaced by spaces (plain PEM in a header).
        let plain = pem(&der()).trim().replace('\n', " ");
        let got = header_thumbprint(plain.as_bytes(), CertificateHeaderFormat::Pem, MAX);
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn base64_der() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der());
        for v in [b64.clone(), escape(&b64)] {
            let got = header_thumbprint(v.as_bytes(), CertificateHeaderFormat::Base64Der, MAX);
            assert_eq!(got, Ok(sha256(&der())), "{v}");
        }
    }

    #[test]
    fn xfcc_cert_and_hash() {
        let want = sha256(&der());
        let hex: String = want.iter().map(|b| format!("{b:02x}")).collect();
        let cert = format!(
            "By=spiffe://cluster.local/ns/a/sa/b;Hash={};Cert=\"{}\";Subject=\"CN=x,O=y\";URI=",
            "00".repeat(32),
            escape(&pem(&der()))
        );
        let got = header_thumbprint(cert.as_bytes(), CertificateHeaderFormat::Xfcc, MAX);
        assert_eq!(got, Ok(want), "Cert wins over Hash");
        let hash_only = format!("By=spiffe://x;Hash={hex};Subject=\"CN=a, O=b\"");
        let got = header_thumbprint(hash_only.as_bytes(), CertificateHeaderFormat::Xfcc, MAX);
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn refusals_never_panic() {
        let pem = escape(&pem(&der()));
        let two = format!("Hash={0};Cert=\"{pem}\",Hash={0}", "ab".repeat(32));
        let cases: Vec<(CertificateHeaderFormat, Vec<u8>)> = vec![
            (CertificateHeaderFormat::Pem, b"".to_vec()),
            (CertificateHeaderFormat::Pem, b"%".to_vec()),
            (CertificateHeaderFormat::Pem, b"%4".to_vec()),
            (CertificateHeaderFormat::Pem, b"%zz".to_vec()),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----".to_vec(),
            ),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----!!!-----END CERTIFICATE-----".to_vec(),
            ),
            (
                CertificateHeaderFormat::Pem,
                format!("{pem}{pem}").into_bytes(),
            ),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----".to_vec(),
            ),
            (CertificateHeaderFormat::Base64Der, b"not base64".to_vec()),
            (CertificateHeaderFormat::Base64Der, b"MAA=AAAA".to_vec()),
            (CertificateHeaderFormat::Xfcc, two.into_bytes()),
            (CertificateHeaderFormat::Xfcc, b"By=x".to_vec()),
            (CertificateHeaderFormat::Xfcc, b"Hash=abc".to_vec()),
            (
                CertificateHeaderFormat::Xfcc,
                b"Hash=\"unterminated".to_vec(),
            ),
            (CertificateHeaderFormat::Xfcc, b"Hash=1;Hash=2".to_vec()),
            (CertificateHeaderFormat::Xfcc, b"novalue".to_vec()),
            (
                CertificateHeaderFormat::Xfcc,
                "Hash=é".repeat(20).into_bytes(),
            ),
        ];
        for (format, value) in cases {
            assert_eq!(
                header_thumbprint(&value, format, MAX),
                Err(HeaderError::Malformed),
                "{format:?} {:?}",
                String::from_utf8_lossy(&value)
            );
        }
        let big = vec![b'A'; MAX + 1];
        assert_eq!(
            header_thumbprint(&big, CertificateHeaderFormat::Pem, MAX),
            Err(HeaderError::TooLarge)
        );
    }

    #[test]
    fn der_length_must_match() {
        assert!(check_der(&der()).is_ok());
        assert!(check_der(&[0x30, 0x00]).is_ok());
        for bad in [
            &[][..],
            &[0x30],
            &[0x31, 0x00],
            &[0x30, 0x01],
            &[0x30, 0x80],
            &[0x30, 0x85, 0, 0, 0, 0, 0],
            &[0x30, 0x82, 0x01],
        ] {
            assert!(check_der(bad).is_err(), "{bad:?}");
        }
    }
}
