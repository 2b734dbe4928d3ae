//! SIRET and SIREN: the identifiers of a collectivité in the company registry.

use std::fmt;

/// A SIRET that passed its checksum: 14 digits, Luhn over all 14 and over the SIREN
/// (its first 9), except La Poste's establishments, whose digit sum is a multiple of 5.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Siret(String);

/// Why a SIRET was refused, each with the French sentence shown to the applicant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiretError {
    Format,
    Checksum,
}

impl SiretError {
    pub fn message(self) -> &'static str {
        match self {
            SiretError::Format => "Le numéro SIRET doit comporter exactement 14 chiffres.",
            SiretError::Checksum => {
                "Ce numéro SIRET n’existe pas : sa clé de contrôle est incorrecte. Vérifiez-le sur l’avis de situation SIRENE."
            }
        }
    }
}

const LA_POSTE_SIREN: &str = "356000000";

impl Siret {
    /// Accepts the 14 digits with optional spaces (as printed on documents: "213 500 168 00025").
    pub fn parse(input: &str) -> Result<Self, SiretError> {
        let digits: String = input
            .chars()
            .filter(|c| *c != ' ' && *c != '\u{a0}')
            .collect();
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SiretError::Format);
        }
        let valid = if digits.starts_with(LA_POSTE_SIREN) {
            digits
                .bytes()
                .map(|b| u32::from(b - b'0'))
                .sum::<u32>()
                .is_multiple_of(5)
        } else {
            luhn(&digits) && luhn(&digits[..9])
        };
        if valid {
            Ok(Siret(digits))
        } else {
            Err(SiretError::Checksum)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SIREN is, by definition, the first 9 digits of the SIRET.
    pub fn siren(&self) -> &str {
        &self.0[..9]
    }
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn checksum over ASCII digits.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_real_commune_siret() {
        // Commune de Baulon, as in the annuaire extract.
        let s = Siret::parse("21350016800025").unwrap();
        assert_eq!(s.siren(), "213500168");
        assert_eq!(Siret::parse("213 500 168 00025").unwrap(), s);
    }

    #[test]
    fn rejects_wrong_length_and_letters() {
        assert_eq!(Siret::parse("2135001680002"), Err(SiretError::Format));
        assert_eq!(Siret::parse("2135001680002A"), Err(SiretError::Format));
        assert_eq!(Siret::parse(""), Err(SiretError::Format));
    }

    #[test]
    fn rejects_a_bad_checksum() {
        assert_eq!(Siret::parse("21350016800026"), Err(SiretError::Checksum));
    }

    #[test]
    fn la_poste_uses_the_digit_sum_rule() {
        // 3+5+6 + 0… + 1+2+3 = 20 → multiple of 5, although Luhn fails.
        assert!(!luhn("35600000000123"));
        assert!(Siret::parse("35600000000123").is_ok());
        assert_eq!(Siret::parse("35600000000124"), Err(SiretError::Checksum));
    }

    #[test]
    fn siren_must_pass_luhn_too() {
        // Luhn-valid over 14 digits but not over the first 9.
        let bad = "00000000100008";
        assert!(luhn(bad));
        assert!(!luhn(&bad[..9]));
        assert_eq!(Siret::parse(bad), Err(SiretError::Checksum));
    }
}
