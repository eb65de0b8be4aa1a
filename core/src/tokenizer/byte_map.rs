//! GPT-2 byte-level alphabet: every byte 0..=255 has a printable Unicode stand-in, so a
//! byte-level BPE vocabulary can be stored as text. Printable Latin-1 bytes (`!`..`~`,
//! `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68 bytes map, in order, to U+0100..
//! (so a space is `Ġ` U+0120 and a newline `Ċ` U+010A).
// port of llama.cpp src/unicode.cpp@0c4093cc (unicode_byte_to_utf8_map, unicode_utf8_to_byte_map)

/// True for the bytes that stand for themselves.
const fn is_direct(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// `BYTE_TO_CHAR[b]` is the code point that stands for byte `b`.
const BYTE_TO_CHAR: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0u32;
    let mut b = 0usize;
    while b < 256 {
        table[b] = if is_direct(b as u8) {
            b as u32
        } else {
            n += 1;
            255 + n
        };
        b += 1;
    }
    table
};

/// The 68 bytes that do not stand for themselves, in order: stand-in U+0100 + i is
/// `INDIRECT[i]`.
const INDIRECT: [u8; 68] = {
    let mut table = [0u8; 68];
    let mut n = 0usize;
    let mut b = 0usize;
    while b < 256 {
        if !is_direct(b as u8) {
            table[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    table
};

/// The stand-in character of one byte.
pub(crate) fn byte_to_char(b: u8) -> char {
    // Every table entry is below U+0144, a valid scalar value.
    char::from_u32(BYTE_TO_CHAR[b as usize]).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The byte a stand-in character represents; `None` for characters outside the alphabet.
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    if cp < 256 && is_direct(cp as u8) {
        return Some(cp as u8);
    }
    let i = cp.checked_sub(256)? as usize;
    INDIRECT.get(i).copied()
}

/// Appends the stand-ins of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.extend(bytes.iter().map(|&b| byte_to_char(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_round_trips_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(char_to_byte('A'), Some(b'A'));
        assert_eq!(char_to_byte('\u{0144}'), None);
    }
}
