//! UAI: the national identifier of a school ("Unité administrative immatriculée").

use std::fmt;

/// 7 digits and a check letter: `ABCDEFGHJKLMNPRSTUVWXYZ[n % 23]` where n is the 7-digit number.
/// Corsica's UAIs start with "620A"/"720B"-like department codes; the directory writes them with
/// digits only (620 / 720), so the digits-only rule holds for the data we load.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uai(String);

const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UaiError {
    Format,
    Checksum,
}

impl UaiError {
    pub fn message(self) -> &'static str {
        match self {
            UaiError::Format => {
                "Un code UAI comporte 7 chiffres suivis d’une lettre (ex. : 0350122T)."
            }
            UaiError::Checksum => {
                "Ce code UAI n’existe pas : sa lettre de contrôle est incorrecte."
            }
        }
    }
}

impl Uai {
    /// Case-insensitive on the letter, surrounding spaces ignored.
    pub fn parse(input: &str) -> Result<Self, UaiError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 8 || !b[..7].iter().all(u8::is_ascii_digit) || !b[7].is_ascii_uppercase() {
            return Err(UaiError::Format);
        }
        let n: u32 = s[..7].parse().map_err(|_| UaiError::Format)?;
        if CHECK_LETTERS[(n % 23) as usize] == b[7] {
            Ok(Uai(s))
        } else {
            Err(UaiError::Checksum)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_uais() {
        for u in ["0540232J", "0350122T", "0350165P", "0350196y"] {
            assert!(Uai::parse(u).is_ok(), "{u}");
        }
        assert_eq!(Uai::parse(" 0350196y ").unwrap().as_str(), "0350196Y");
    }

    #[test]
    fn rejects_bad_letter_and_format() {
        assert_eq!(Uai::parse("0540232K"), Err(UaiError::Checksum));
        assert_eq!(Uai::parse("054023J"), Err(UaiError::Format));
        assert_eq!(Uai::parse("05402322"), Err(UaiError::Format));
        assert_eq!(Uai::parse("0540232É"), Err(UaiError::Format));
    }
}
