//! Tracking numbers: random, easy to read aloud, and self-checking.
//!
//! Sixteen symbols from Crockford's base 32 (no I, L, O or U), shown in four groups of four:
//! `K7QM-2XD9-HFAR-4TW5`. Fifteen symbols carry 75 random bits; the last is a Luhn mod 32 check symbol,
//! which catches every single mistyped symbol and almost every swap of neighbours, so a client can
//! reject a typo before asking the server.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ProblemCode;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAYLOAD_LEN: usize = 15;
const LEN: usize = PAYLOAD_LEN + 1;
const GROUP: usize = 4;
/// Length of the grouped form, with a hyphen between groups.
const DISPLAY_LEN: usize = LEN + LEN / GROUP - 1;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackingNumber([u8; DISPLAY_LEN]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingNumberError {
    #[error("a tracking number has 16 letters and digits, like K7QM-2XD9-HFAR-4TW5; this one has {found}")]
    WrongLength { found: usize },
    #[error("'{found}' cannot appear in a tracking number (position {position})")]
    InvalidCharacter { found: char, position: usize },
    #[error("this tracking number has a typo: please check each letter and digit again")]
    CheckFailed,
}

impl TrackingNumberError {
    /// A stable code for API clients.
    pub fn code(&self) -> ProblemCode {
        match self {
            TrackingNumberError::WrongLength { .. } => ProblemCode::TrackingNumberWrongLength,
            TrackingNumberError::InvalidCharacter { .. } => ProblemCode::TrackingNumberInvalidCharacter,
            TrackingNumberError::CheckFailed => ProblemCode::TrackingNumberCheckFailed,
        }
    }
}

impl TrackingNumber {
    /// Builds a tracking number from random bits (only the low 75 are used). The caller brings the
    /// randomness so this crate stays free of I/O.
    pub fn from_random_bits(bits: u128) -> TrackingNumber {
        let mut values = [0u8; LEN];
        for (i, value) in values[..PAYLOAD_LEN].iter_mut().enumerate() {
            *value = ((bits >> (5 * i)) & 0x1f) as u8;
        }
        values[PAYLOAD_LEN] = check_value(&values[..PAYLOAD_LEN]);
        TrackingNumber::from_values(&values)
    }

    /// Parses what a person typed: case, spaces and hyphens don't matter, full-width letters, digits,
    /// spaces and the dashes typed for a hyphen (`ＢＪＧＰ－ＶＭＧＢ`, `ー`, `−`) read as their ASCII, and the
    /// look-alikes O, I and L are read as 0, 1 and 1.
    pub fn parse(input: &str) -> Result<TrackingNumber, TrackingNumberError> {
        let mut values = [0u8; LEN];
        let mut count = 0;
        for (position, typed) in input.chars().enumerate() {
            let ch = crate::width::to_ascii(typed);
            if ch == '-' || ch.is_whitespace() {
                continue;
            }
            let value = symbol_value(ch)
                .ok_or(TrackingNumberError::InvalidCharacter { found: typed, position: position + 1 })?;
            if count < LEN {
                values[count] = value;
            }
            count += 1;
        }
        if count != LEN {
            return Err(TrackingNumberError::WrongLength { found: count });
        }
        if check_value(&values[..PAYLOAD_LEN]) != values[PAYLOAD_LEN] {
            return Err(TrackingNumberError::CheckFailed);
        }
        Ok(TrackingNumber::from_values(&values))
    }

    /// The grouped form, as printed on labels and used in links.
    pub fn as_str(&self) -> &str {
        // Only ASCII from ALPHABET and hyphens are ever written into the array.
        std::str::from_utf8(&self.0).expect("tracking numbers are ASCII")
    }

    fn from_values(values: &[u8; LEN]) -> TrackingNumber {
        let mut out = [b'-'; DISPLAY_LEN];
        for (i, value) in values.iter().enumerate() {
            out[i + i / GROUP] = ALPHABET[usize::from(*value)];
        }
        TrackingNumber(out)
    }
}

fn symbol_value(ch: char) -> Option<u8> {
    let ch = match ch.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET.iter().position(|&a| char::from(a) == ch).map(|i| i as u8)
}

/// Luhn mod N check value over base-32 symbol values.
fn check_value(values: &[u8]) -> u8 {
    let n = ALPHABET.len() as u32;
    let sum: u32 = values
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &value)| {
            let value = u32::from(value);
            if i % 2 == 0 {
                let doubled = value * 2;
                doubled / n + doubled % n
            } else {
                value
            }
        })
        .sum();
    ((n - sum % n) % n) as u8
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingNumber({})", self.as_str())
    }
}

impl FromStr for TrackingNumber {
    type Err = TrackingNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrackingNumber::parse(s)
    }
}

impl Serialize for TrackingNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TrackingNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TrackingNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TrackingNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$"))
            .examples(["KR51-ME91-HQ7G-0E6T"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TrackingNumber {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u128) -> TrackingNumber {
        // A cheap deterministic spread of bits; real numbers come from the server's CSPRNG.
        TrackingNumber::from_random_bits(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))
    }

    #[test]
    fn generated_numbers_are_grouped_and_parse_back() {
        for seed in 0..500 {
            let number = sample(seed);
            assert_eq!(number.as_str().len(), 19);
            assert_eq!(number.as_str().split('-').count(), 4);
            assert_eq!(TrackingNumber::parse(number.as_str()), Ok(number));
        }
    }

    #[test]
    fn typing_is_forgiving_about_case_spaces_and_look_alikes() {
        let number = TrackingNumber::from_random_bits(0);
        assert_eq!(number.as_str(), "0000-0000-0000-0000");
        assert_eq!(TrackingNumber::parse("oooo oooo OOOO 0000"), Ok(number));
        let number = sample(7);
        let typed = number.as_str().replace('-', " ").to_lowercase();
        assert_eq!(TrackingNumber::parse(&typed), Ok(number));
    }

    #[test]
    fn full_width_typing_reads_as_ascii() {
        let number = sample(11);
        let full_width: String = number
            .as_str()
            .chars()
            .map(|c| if c == '-' { '－' } else { char::from_u32(u32::from(c) + 0xFEE0).unwrap() })
            .collect();
        assert_eq!(TrackingNumber::parse(&full_width), Ok(number));
        let lower = full_width.to_lowercase();
        assert_eq!(TrackingNumber::parse(&lower), Ok(number));
        for dash in ["ー", "−", "‐", "　", "ｰ"] {
            let typed = number.as_str().replace('-', dash);
            assert_eq!(TrackingNumber::parse(&typed), Ok(number), "{typed}");
        }
        // What is still wrong is named as it was typed.
        let typo = format!("{}＃", &full_width[..full_width.len() - 3]);
        assert_eq!(
            TrackingNumber::parse(&typo),
            Err(TrackingNumberError::InvalidCharacter { found: '＃', position: 19 })
        );
    }

    #[test]
    fn every_single_mistyped_symbol_is_caught() {
        for seed in 0..50 {
            let number = sample(seed);
            let text: Vec<char> = number.as_str().chars().collect();
            for position in (0..text.len()).filter(|&p| text[p] != '-') {
                for &replacement in ALPHABET {
                    let replacement = char::from(replacement);
                    if replacement == text[position] {
                        continue;
                    }
                    let mut typo = text.clone();
                    typo[position] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(TrackingNumber::parse(&typo), Err(TrackingNumberError::CheckFailed), "{typo}");
                }
            }
        }
    }

    #[test]
    fn most_swapped_neighbours_are_caught() {
        let (mut swaps, mut caught) = (0, 0);
        for seed in 0..200 {
            let symbols: Vec<char> = sample(seed).as_str().chars().filter(|&c| c != '-').collect();
            for i in 0..symbols.len() - 1 {
                if symbols[i] == symbols[i + 1] {
                    continue;
                }
                let mut swapped = symbols.clone();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                swaps += 1;
                if TrackingNumber::parse(&swapped).is_err() {
                    caught += 1;
                }
            }
        }
        assert!(caught * 100 >= swaps * 95, "caught {caught} of {swaps} swaps");
    }

    #[test]
    fn wrong_input_says_what_is_wrong() {
        assert_eq!(TrackingNumber::parse(""), Err(TrackingNumberError::WrongLength { found: 0 }));
        assert_eq!(TrackingNumber::parse("K7QM-2XD9"), Err(TrackingNumberError::WrongLength { found: 8 }));
        assert_eq!(
            TrackingNumber::parse("K7QM-2XD9-HFAR-4TWU"),
            Err(TrackingNumberError::InvalidCharacter { found: 'U', position: 19 })
        );
        assert!(matches!(
            TrackingNumber::parse("K7QM/2XD9"),
            Err(TrackingNumberError::InvalidCharacter { found: '/', .. })
        ));
        assert!(TrackingNumber::parse(&"A".repeat(10_000)).is_err());
    }

    #[test]
    fn numbers_use_at_least_sixty_random_bits() {
        let all_ones = TrackingNumber::from_random_bits(u128::MAX);
        let all_zeros = TrackingNumber::from_random_bits(0);
        for bit in 0..75 {
            let number = TrackingNumber::from_random_bits(1 << bit);
            assert_ne!(number, all_zeros, "bit {bit} is not used");
        }
        assert_eq!(TrackingNumber::from_random_bits(1 << 75), all_zeros);
        assert_ne!(all_ones, all_zeros);
    }
}
