//! Decoding single dumpfile fields the way C mkcomposefs 1.0.8 does:
//! splitting, backslash escapes, `strtoull` integers and hex digests.
//! Errors are the message bytes C prints.

/// C's `split_at`: the text before the first `sep` in `*rest`, and `*rest`
/// moves past it. Without `sep`, everything is taken and `rest` empties.
/// The bool tells whether `sep` was missing (C's "partial").
#[inline]
pub fn split_at<'a>(rest: &mut &'a [u8], sep: u8) -> (&'a [u8], bool) {
    let s = *rest;
    match find_byte(s, sep) {
        Some(i) => {
            *rest = &s[i + 1..];
            (&s[..i], false)
        }
        None => {
            *rest = &s[s.len()..];
            (s, true)
        }
    }
}

/// The first position of `b` in `s`, eight bytes at a time (dumpfile
/// fields run to tens of bytes; this is most of the parser's scanning).
pub fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(b);
    let mut words = s.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pattern;
        // The lowest bit set marks the first zero byte of x exactly.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|i| base + i)
}

fn hexdigit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Appends the unescaped `text` to `out` (cleared first). Known escapes:
/// `\\ \n \r \t \xHH`.
pub fn unescape_into(text: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), Vec<u8>> {
    out.clear();
    if !text.contains(&b'\\') {
        out.extend_from_slice(text);
        return Ok(());
    }
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = text.get(i) else {
            return Err(b"No character after escape".to_vec());
        };
        i += 1;
        match e {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                // Both digits must be there before either is judged.
                if i + 2 > text.len() {
                    return Err(b"No hex characters after hex escape".to_vec());
                }
                match (hexdigit(text[i]), hexdigit(text[i + 1])) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(b"Invalid hex characters after hex escape".to_vec()),
                }
                i += 2;
            }
            other => {
                let mut m = b"Unsupported escape type ".to_vec();
                m.push(other);
                return Err(m);
            }
        }
    }
    Ok(())
}

/// Like [`unescape_into`], but a lone `-` means "no value" (Ok(false)).
pub fn unescape_optional_into(
    text: &[u8],
    out: &mut Vec<u8>,
) -> std::result::Result<bool, Vec<u8>> {
    if text == b"-" {
        out.clear();
        return Ok(false);
    }
    unescape_into(text, out).map(|()| true)
}

/// The part of `s` a C string holds: up to the first NUL.
#[inline]
pub fn c_str_part(s: &[u8]) -> &[u8] {
    match find_byte(s, 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// glibc `strtoull` over the whole field, in C's "C" locale: leading
/// white space, a sign (a minus negates modulo 2^64), digits of `base`
/// (8 or 10), saturating at u64::MAX. Anything left over, or an empty
/// field, is the error "Invalid integer FIELD".
pub fn parse_int(field: &[u8], base: u32) -> std::result::Result<u64, Vec<u8>> {
    // Plain digits too few to overflow: nothing else to look at.
    if (1..=18).contains(&field.len()) && field.iter().all(|&c| c.wrapping_sub(b'0') < base as u8) {
        return Ok(field
            .iter()
            .fold(0u64, |v, &c| v * u64::from(base) + u64::from(c - b'0')));
    }
    let bad = || {
        let mut m = b"Invalid integer ".to_vec();
        m.extend_from_slice(field);
        m
    };
    let mut i = 0;
    while i < field.len() && matches!(field[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < field.len() && (field[i] == b'+' || field[i] == b'-') {
        neg = field[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < field.len() {
        let d = match field[i] {
            c @ b'0'..=b'9' if u32::from(c - b'0') < base => u64::from(c - b'0'),
            _ => break,
        };
        match v
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(d))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    // No digits: strtoull points at the start, so nothing is consumed.
    if field.is_empty() || i == start || i != field.len() {
        return Err(bad());
    }
    Ok(if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    })
}

/// A digest: the first 64 characters must be hex digits (C reads 32
/// bytes and stops, so anything after them is ignored). None when they
/// are not: C then keeps the bytes it could read and leaves the rest of
/// the digest as whatever was in memory.
pub fn parse_digest(text: &[u8]) -> Option<[u8; 32]> {
    let hex = text.get(..64)?;
    let mut raw = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        raw[i] = hexdigit(pair[0])? << 4 | hexdigit(pair[1])?;
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(s: &[u8]) -> Result<Vec<u8>, String> {
        let mut v = Vec::new();
        unescape_into(s, &mut v)
            .map(|()| v)
            .map_err(|e| String::from_utf8_lossy(&e).into_owned())
    }

    #[test]
    fn escapes() {
        assert_eq!(un(b"plain").unwrap(), b"plain");
        assert_eq!(un(br"a\\b\n\r\t\x41\x7e\xFF").unwrap(), b"a\\b\n\r\tA~\xff");
        assert_eq!(un(br"\x00z").unwrap(), b"\0z");
        assert_eq!(un(br"abc\").unwrap_err(), "No character after escape");
        assert_eq!(
            un(br"\x").unwrap_err(),
            "No hex characters after hex escape"
        );
        assert_eq!(
            un(br"\x4").unwrap_err(),
            "No hex characters after hex escape"
        );
        assert_eq!(
            un(br"\xg").unwrap_err(),
            "No hex characters after hex escape"
        );
        assert_eq!(
            un(br"\xg1").unwrap_err(),
            "Invalid hex characters after hex escape"
        );
        assert_eq!(
            un(br"\x1g").unwrap_err(),
            "Invalid hex characters after hex escape"
        );
        assert_eq!(un(br"\q").unwrap_err(), "Unsupported escape type q");
        let mut v = Vec::new();
        assert_eq!(
            unescape_into(b"\\\xe9", &mut v).unwrap_err(),
            b"Unsupported escape type \xe9"
        );
    }

    #[test]
    fn optional() {
        let mut v = b"old".to_vec();
        assert!(!unescape_optional_into(b"-", &mut v).unwrap());
        assert!(v.is_empty());
        assert!(unescape_optional_into(br"\x2d", &mut v).unwrap());
        assert_eq!(v, b"-");
        assert!(unescape_optional_into(b"", &mut v).unwrap());
        assert!(v.is_empty());
        assert!(unescape_optional_into(b"--", &mut v).unwrap());
    }

    #[test]
    fn split() {
        let mut rest: &[u8] = b"a b  c";
        assert_eq!(split_at(&mut rest, b' '), (&b"a"[..], false));
        assert_eq!(split_at(&mut rest, b' '), (&b"b"[..], false));
        assert_eq!(split_at(&mut rest, b' '), (&b""[..], false));
        assert_eq!(split_at(&mut rest, b' '), (&b"c"[..], true));
        assert!(rest.is_empty());
        assert_eq!(split_at(&mut rest, b' '), (&b""[..], true));
        assert_eq!(c_str_part(b"ab\0cd"), b"ab");
        for len in 0..40 {
            let mut v = vec![b'x'; len];
            assert_eq!(find_byte(&v, b' '), None);
            for at in 0..len {
                v[at] = b' ';
                assert_eq!(find_byte(&v, b' '), Some(at));
                // A byte just above or below the one looked for is no match.
                v[at] = b' ' + 1;
                if at + 1 < len {
                    v[at + 1] = b' ' - 1;
                }
                assert_eq!(find_byte(&v, b' '), None, "{len} {at}");
                v.fill(b'x');
            }
        }
        assert_eq!(find_byte(&[0x80, 0xff, 0, 1], 0), Some(2));
        assert_eq!(find_byte(&[0x81; 9], 0x80), None);
        assert_eq!(c_str_part(b"abcd"), b"abcd");
    }

    #[test]
    fn integers_like_strtoull() {
        assert_eq!(parse_int(b"0", 10), Ok(0));
        assert_eq!(parse_int(b"12345", 10), Ok(12345));
        assert_eq!(parse_int(b"+7", 10), Ok(7));
        assert_eq!(parse_int(b"-1", 10), Ok(u64::MAX));
        assert_eq!(parse_int(b"\t 5", 10), Ok(5));
        assert_eq!(parse_int(b"18446744073709551615", 10), Ok(u64::MAX));
        assert_eq!(parse_int(b"99999999999999999999999", 10), Ok(u64::MAX));
        assert_eq!(parse_int(b"-99999999999999999999999", 10), Ok(u64::MAX));
        assert_eq!(parse_int(b"100644", 8), Ok(0o100644));
        assert_eq!(parse_int(b"0100644", 8), Ok(0o100644));
        let msg = |s: &[u8], b| String::from_utf8(parse_int(s, b).unwrap_err()).unwrap();
        assert_eq!(msg(b"", 10), "Invalid integer ");
        assert_eq!(msg(b"x", 10), "Invalid integer x");
        assert_eq!(msg(b"12a", 10), "Invalid integer 12a");
        assert_eq!(msg(b"0x10", 10), "Invalid integer 0x10");
        assert_eq!(msg(b"8", 8), "Invalid integer 8");
        assert_eq!(msg(b"-", 10), "Invalid integer -");
        assert_eq!(msg(b"\t", 10), "Invalid integer \t");
        assert_eq!(msg(b"5 ", 10), "Invalid integer 5 ");
    }

    #[test]
    fn digests() {
        let hex = b"0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        let d = parse_digest(hex).unwrap();
        assert_eq!(d[0], 0x01);
        assert_eq!(d[8], 0xab);
        assert_eq!(d[31], 0x89);
        for bad in [&b"ab"[..], b"", &hex[..63], b"zz"] {
            assert!(parse_digest(bad).is_none());
        }
        let mut long = hex.to_vec();
        long.extend_from_slice(b"zz");
        assert_eq!(parse_digest(&long), Some(d));
        let mut odd = hex.to_vec();
        odd[10] = b'g';
        assert!(parse_digest(&odd).is_none());
    }
}
