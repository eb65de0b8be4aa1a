//! Streaming detokenization: token pieces are raw bytes and a multi-byte UTF-8 character
//! (an emoji, a CJK ideograph) is often split across two or more tokens. `StreamDecoder`
//! holds back an incomplete trailing sequence until the bytes that complete it arrive, so
//! every string it returns is whole text. Invalid bytes become U+FFFD exactly as
//! `String::from_utf8_lossy` would replace them, so the concatenated stream equals
//! `Tokenizer::decode` of the same tokens.

/// Turns a stream of token pieces into text without splitting UTF-8 characters.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    /// Bytes received but not yet returned: at most one incomplete UTF-8 sequence.
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one token piece; returns the text completed by it (possibly empty).
    pub fn push(&mut self, piece: &[u8]) -> String {
        self.pending.extend_from_slice(piece);
        let mut out = String::new();
        let mut start = 0;
        while start < self.pending.len() {
            let rest = self.pending.get(start..).unwrap_or_default();
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    start = self.pending.len();
                }
                Err(err) => {
                    let (valid, _) = rest.split_at(err.valid_up_to());
                    out.push_str(&String::from_utf8_lossy(valid));
                    start += err.valid_up_to();
                    match err.error_len() {
                        // An invalid sequence: replace it like from_utf8_lossy does.
                        Some(len) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start += len;
                        }
                        // An incomplete sequence at the end: wait for more bytes.
                        None => break,
                    }
                }
            }
        }
        self.pending.drain(..start.min(self.pending.len()));
        out
    }

    /// Ends the stream: returns whatever is held back, lossily decoded.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_decoder_holds_back_split_characters() {
        let crab = "🦀".as_bytes();
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(b"a"), "a");
        assert_eq!(d.push(&crab[..1]), "");
        assert_eq!(d.push(&crab[1..3]), "");
        assert_eq!(d.push(&crab[3..]), "🦀");
        assert_eq!(d.finish(), "");
    }

    #[test]
    fn stream_decoder_matches_lossy_on_invalid_bytes() {
        let bytes: &[u8] = &[b'x', 0xFF, b'y', 0xE2, 0x82];
        let mut d = StreamDecoder::new();
        let mut got = String::new();
        for b in bytes {
            got += &d.push(std::slice::from_ref(b));
        }
        got += &d.finish();
        assert_eq!(got, String::from_utf8_lossy(bytes));
    }
}
