//! What Japanese keyboards type in full width, read as the ASCII it stands for.
//!
//! An input method in Japanese mode writes `１００－０００５` or `ＢＪＧＰ－ＶＭＧＢ`, and people type the
//! long-vowel mark `ー` or a minus sign `−` where a hyphen is meant. Codes (tracking numbers, postal codes,
//! phone numbers) are read through [`to_ascii`] so that these forms mean the same as their ASCII. Names and
//! addresses are never folded: `ー` is a letter in `ラーメン`.
//!
//! A small explicit mapping rather than Unicode NFKC: NFKC would fold the full-width forms too, but not the
//! dashes, and would bring a normalisation table into every client of this crate for a dozen characters.

/// The ASCII character that `c` stands for in a code, or `c` itself.
///
/// - the full-width forms of ASCII (`！` to `～`, U+FF01 to U+FF5E) become their ASCII letters, digits and signs;
/// - the ideographic space (U+3000) becomes a space;
/// - the dashes typed for a hyphen (`ー` `ｰ` long-vowel marks, `−` minus, `‐` `‑` hyphens, `‒` `–` `—` `―`
///   dashes, `﹣` small hyphen-minus) become `-`.
pub fn to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{30FC}' | '\u{FF70}' | '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}'
        | '\u{2015}' | '\u{FE63}' => '-',
        other => other,
    }
}

/// `text` with every character read through [`to_ascii`].
pub fn fold(text: &str) -> String {
    text.chars().map(to_ascii).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_letters_digits_and_signs_become_ascii() {
        assert_eq!(fold("ＢＪＧＰ－ＶＭＧＢ"), "BJGP-VMGB");
        assert_eq!(fold("ｂｊｇｐ"), "bjgp");
        assert_eq!(fold("０１２３４５６７８９"), "0123456789");
        assert_eq!(fold("＋８１　（０３）"), "+81 (03)");
        // Every full-width form has its ASCII twin, and nothing else in that block moves.
        for ascii in '!'..='~' {
            let full = char::from_u32(u32::from(ascii) + 0xFEE0).unwrap();
            assert_eq!(to_ascii(full), ascii, "{full}");
        }
        assert_eq!(to_ascii('\u{FF5F}'), '\u{FF5F}');
        assert_eq!(to_ascii('\u{FF00}'), '\u{FF00}');
    }

    #[test]
    fn the_dashes_people_type_for_a_hyphen_are_hyphens() {
        for dash in ['ー', 'ｰ', '−', '‐', '‑', '‒', '–', '—', '―', '﹣', '－', '-'] {
            assert_eq!(to_ascii(dash), '-', "{dash:?}");
        }
    }

    #[test]
    fn other_text_is_kept() {
        assert_eq!(fold("〒山田 花子ラーメン"), "〒山田 花子ラ-メン");
        assert_eq!(fold("K7QM-2XD9"), "K7QM-2XD9");
        assert_eq!(to_ascii('〒'), '〒');
        assert_eq!(to_ascii('①'), '①');
    }
}
