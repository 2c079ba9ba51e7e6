//! Reading ASCII decimal digits by hand: `str::parse` is code of its own for each integer type in
//! the sidebar's download, and ports, lengths and date fields need only this.

/// The number `digits` spell: one or more ASCII digits and nothing else, at most `u64::MAX`.
pub fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_digits;

    #[test]
    fn reads_digits_and_nothing_else() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"000080"), Some(80));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b"18446744073709551616", b"+1", b"-1", b" 1", b"1 ", b"1.0", b"1e3", "１".as_bytes()] {
            assert_eq!(parse_digits(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
