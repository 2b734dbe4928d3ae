//! Email addresses as the applicant types them: enough checking to catch typos and refuse
//! anything that could break a mail header, without pretending to implement RFC 5322.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        const INVALID: &str = "L’adresse électronique n’est pas valide (ex. : mairie@exemple.fr).";
        if s.is_empty() {
            return Err("L’adresse électronique est obligatoire.");
        }
        if s.len() > 254 {
            return Err("L’adresse électronique est trop longue (254 caractères au plus).");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(INVALID);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(s.to_string()))
        } else {
            Err(INVALID)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for e in [
            "mairie@exemple.fr",
            "jean.garcia@exemple.fr",
            "a+b@sub.exemple.gouv.fr",
        ] {
            assert!(Email::parse(e).is_ok(), "{e}");
        }
    }

    #[test]
    fn refuses_typos_and_header_injection() {
        for e in [
            "",
            "mairie",
            "mairie@",
            "@exemple.fr",
            "mairie@exemple",
            "mai rie@exemple.fr",
            "mairie@exemple.fr\r\nBcc: x@y.fr",
            "a..b@exemple.fr",
            "mairie@-exemple.fr",
        ] {
            assert!(Email::parse(e).is_err(), "{e:?}");
        }
    }
}
