//! The character encoding of an imported file: UTF-8, or Shift_JIS as Excel in Japan saves "CSV" by default.
//!
//! Shift_JIS here is what encoding_rs calls `SHIFT_JIS`: the WHATWG Shift_JIS, which is Microsoft's CP932
//! (Windows-31J), so the NEC and IBM extensions (髙, 﨑, ①, ㈱) decode too. The encoding is the one the request
//! declares (`charset=` in the Content-Type), else the one the file's first line with non-ASCII text reads
//! as, UTF-8 first. The decision is made on the start of the file, before any line is imported, so a file
//! that cannot be read gets one answer, not one error per line.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

/// How much of the start of a file is looked at, at most, to tell its encoding.
pub const SNIFF_BYTES: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    /// CP932, as Windows writes it.
    ShiftJis,
}

impl Charset {
    fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::ShiftJis => SHIFT_JIS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::ShiftJis => "Shift_JIS (CP932)",
        }
    }
}

const SAVE_AS_UTF8: &str = "Save it as \"CSV UTF-8 (comma delimited)\" and send it again";

/// Why a file cannot be read as text. The message says what was found and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error(
        "The file is declared as charset={0}, which is not read here: only UTF-8 and Shift_JIS (CP932) are. {SAVE_AS_UTF8}."
    )]
    Unsupported(String),
    #[error("The file is UTF-16 ({0}), as Excel's \"Unicode Text\" saves. {SAVE_AS_UTF8}.")]
    Utf16(&'static str),
    #[error("The file is not text: it has zero bytes, as a workbook (.xlsx) or UTF-16 has. {SAVE_AS_UTF8}.")]
    NotText,
    #[error("Line {line} is neither UTF-8 nor Shift_JIS (CP932) text (it has the byte 0x{byte:02X}). {SAVE_AS_UTF8}.")]
    Unreadable { line: u64, byte: u8 },
    #[error(
        "The file is declared as {}, but line {line} is not {} text (it has the byte 0x{byte:02X}){}. Send it \
         with the right charset or none (then it is detected), or save it as \"CSV UTF-8 (comma delimited)\" \
         and send it again.",
        .declared.name(), .declared.name(),
        .reads_as.map(|c| format!(": it reads as {}", c.name())).unwrap_or_default()
    )]
    NotAsDeclared { declared: Charset, line: u64, byte: u8, reads_as: Option<Charset> },
}

/// The charset a request declares, from its `charset` parameter's label.
pub fn declared(label: &str) -> Result<Charset, EncodingError> {
    let label = label.trim().trim_matches('"');
    // Labels that WHATWG leaves out: ASCII is UTF-8's first half, and cp932 is what Windows calls Shift_JIS.
    if label.eq_ignore_ascii_case("us-ascii") || label.eq_ignore_ascii_case("ascii") {
        return Ok(Charset::Utf8);
    }
    if label.eq_ignore_ascii_case("cp932") {
        return Ok(Charset::ShiftJis);
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(encoding) if encoding == UTF_8 => Ok(Charset::Utf8),
        Some(encoding) if encoding == SHIFT_JIS => Ok(Charset::ShiftJis),
        _ => Err(EncodingError::Unsupported(label.to_string())),
    }
}

/// Whether `head`, the start of a file, holds enough to tell its encoding: the first line with non-ASCII
/// bytes is complete.
pub fn can_tell(head: &[u8]) -> bool {
    head.iter().position(|b| !b.is_ascii()).is_some_and(|first| head[first..].contains(&b'\n'))
}

/// The encoding of a file that starts with `head` (the whole file when `complete`), as declared or as
/// its first line with non-ASCII text reads. A UTF-8 byte order mark means UTF-8.
pub fn detect(head: &[u8], complete: bool, declared: Option<Charset>) -> Result<Charset, EncodingError> {
    if head.starts_with(UTF8_BOM) {
        return Ok(Charset::Utf8);
    }
    if head.starts_with(b"\xFF\xFE") {
        return Err(EncodingError::Utf16("little-endian, with a byte order mark"));
    }
    if head.starts_with(b"\xFE\xFF") {
        return Err(EncodingError::Utf16("big-endian, with a byte order mark"));
    }
    if head.contains(&0) {
        return Err(EncodingError::NotText);
    }
    let Some(first) = head.iter().position(|b| !b.is_ascii()) else {
        // ASCII so far: both read it alike.
        return Ok(declared.unwrap_or(Charset::Utf8));
    };
    let start = head[..first].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let end = head[first..].iter().position(|&b| b == b'\n').map_or(head.len(), |i| first + i);
    let line = 1 + head[..start].iter().filter(|&&b| b == b'\n').count() as u64;
    // A line cut at the end of the head may end inside a character.
    let cut = end == head.len() && !complete;
    let text = &head[start..end];
    let reads = |charset: Charset| first_malformed(charset.encoding(), text, cut);
    match declared {
        Some(declared) => match reads(declared) {
            None => Ok(declared),
            Some(byte) => {
                let other = if declared == Charset::Utf8 { Charset::ShiftJis } else { Charset::Utf8 };
                let reads_as = reads(other).is_none().then_some(other);
                Err(EncodingError::NotAsDeclared { declared, line, byte, reads_as })
            }
        },
        None => match (reads(Charset::Utf8), reads(Charset::ShiftJis)) {
            (None, _) => Ok(Charset::Utf8),
            (Some(_), None) => Ok(Charset::ShiftJis),
            (Some(byte), Some(_)) => Err(EncodingError::Unreadable { line, byte }),
        },
    }
}

/// The first byte of `bytes` that `encoding` cannot read, if any.
fn first_malformed(encoding: &'static Encoding, bytes: &[u8], cut: bool) -> Option<u8> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = vec![0; decoder.max_utf8_buffer_length_without_replacement(bytes.len())?];
    match decoder.decode_to_utf8_without_replacement(bytes, &mut out, !cut) {
        (DecoderResult::Malformed(bad, after), read, _) => {
            bytes.get(read - usize::from(after) - usize::from(bad)).copied()
        }
        _ => None,
    }
}

/// `bytes` without a UTF-8 byte order mark.
pub fn without_bom(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    bytes
}

/// Reads Shift_JIS from `inner` as UTF-8, a chunk at a time. A byte that is not Shift_JIS becomes U+FFFD,
/// which the line it is on reports.
pub struct ShiftJisReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    out: Vec<u8>,
    at: usize,
    finished: bool,
}

impl<R> ShiftJisReader<R> {
    pub fn new(inner: R) -> ShiftJisReader<R> {
        ShiftJisReader {
            inner,
            decoder: SHIFT_JIS.new_decoder_without_bom_handling(),
            out: Vec::new(),
            at: 0,
            finished: false,
        }
    }
}

impl<R: AsyncBufRead + Unpin> AsyncRead for ShiftJisReader<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.at < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.at);
                buf.put_slice(&this.out[this.at..this.at + n]);
                this.at += n;
                return Poll::Ready(Ok(()));
            }
            if this.finished {
                return Poll::Ready(Ok(()));
            }
            let input = ready!(Pin::new(&mut this.inner).poll_fill_buf(cx))?;
            let last = input.is_empty();
            let room = this
                .decoder
                .max_utf8_buffer_length(input.len())
                .ok_or_else(|| io::Error::other("a chunk too large to decode"))?;
            this.out.resize(room, 0);
            // With room for the worst case, the decoder takes the whole chunk.
            let (_, read, written, _) = this.decoder.decode_to_utf8(input, &mut this.out, last);
            this.out.truncate(written);
            this.at = 0;
            this.finished = last;
            Pin::new(&mut this.inner).consume(read);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    fn sjis(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
        assert!(!unmappable, "{text}");
        bytes.into_owned()
    }

    const HEADER: &[u8] = b"external_ref,recipient_name\r\n";

    #[test]
    fn the_first_line_with_japanese_text_tells_the_encoding() {
        let utf8 = [HEADER, "A-1,髙橋 ①\r\n".as_bytes()].concat();
        assert_eq!(detect(&utf8, true, None), Ok(Charset::Utf8));
        let shift_jis = [HEADER, &sjis("A-1,髙橋 﨑 ① ㈱\r\n")].concat();
        assert_eq!(detect(&shift_jis, true, None), Ok(Charset::ShiftJis));
        assert_eq!(detect(HEADER, true, None), Ok(Charset::Utf8));
        assert_eq!(detect(HEADER, true, Some(Charset::ShiftJis)), Ok(Charset::ShiftJis));
        // A UTF-8 line first, a stray Shift_JIS line later: UTF-8, and the later line is reported on its own.
        let mixed = [HEADER, "A-1,山田\n".as_bytes(), &sjis("A-2,山田\n")].concat();
        assert_eq!(detect(&mixed, true, None), Ok(Charset::Utf8));
    }

    #[test]
    fn a_line_cut_inside_a_character_is_judged_by_what_is_there() {
        let shift_jis = [HEADER, &sjis("A-1,髙橋")].concat();
        let cut = &shift_jis[..shift_jis.len() - 1];
        assert_eq!(detect(cut, false, None), Ok(Charset::ShiftJis));
        let utf8 = [HEADER, "A-1,山田".as_bytes()].concat();
        assert_eq!(detect(&utf8[..utf8.len() - 1], false, None), Ok(Charset::Utf8));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let bad = [HEADER, b"ok\nA-1,\xFF\xFF\xFF\n"].concat();
        assert_eq!(detect(&bad, true, None), Err(EncodingError::Unreadable { line: 3, byte: 0xFF }));
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("a,b".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert!(matches!(detect(&utf16, true, None), Err(EncodingError::Utf16(_))));
        let no_bom: Vec<u8> = "a,b".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(detect(&no_bom, true, None), Err(EncodingError::NotText));
        let shift_jis = [HEADER, &sjis("A-1,山田\n")].concat();
        let error = detect(&shift_jis, true, Some(Charset::Utf8)).unwrap_err();
        assert_eq!(
            error,
            EncodingError::NotAsDeclared {
                declared: Charset::Utf8,
                line: 2,
                byte: 0x8E,
                reads_as: Some(Charset::ShiftJis)
            }
        );
        assert_eq!(
            error.to_string(),
            "The file is declared as UTF-8, but line 2 is not UTF-8 text (it has the byte 0x8E): it reads as \
             Shift_JIS (CP932). Send it with the right charset or none (then it is detected), or save it as \
             \"CSV UTF-8 (comma delimited)\" and send it again."
        );
    }

    #[test]
    fn declared_labels() {
        for label in ["utf-8", "UTF8", "\"utf-8\"", "us-ascii"] {
            assert_eq!(declared(label), Ok(Charset::Utf8), "{label}");
        }
        for label in ["Shift_JIS", "shift-jis", "sjis", "cp932", "CP932", "windows-31j", "ms932", "x-sjis"] {
            assert_eq!(declared(label), Ok(Charset::ShiftJis), "{label}");
        }
        for label in ["utf-16", "utf-16le", "euc-jp", "iso-2022-jp", "latin1", "klingon"] {
            let error = declared(label).unwrap_err();
            assert!(error.to_string().contains(&format!("charset={label}")), "{error}");
        }
    }

    #[tokio::test]
    async fn shift_jis_is_read_as_utf8_in_chunks_of_any_size() {
        let text = "external_ref,recipient_name\r\nA-1,髙橋 﨑 ① ㈱ ｶﾀｶﾅ\r\n".repeat(50);
        let bytes = sjis(&text);
        // One byte at a time: every character is split across reads.
        let chunked = tokio::io::BufReader::with_capacity(1, &bytes[..]);
        let mut decoded = String::new();
        ShiftJisReader::new(chunked).read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, text);
        // A byte that is not Shift_JIS becomes U+FFFD; a lead byte at the very end too.
        let mut decoded = String::new();
        ShiftJisReader::new(&b"a,\x81\x20b\xFF,\x88"[..]).read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, "a,\u{FFFD} b\u{FFFD},\u{FFFD}");
    }
}
