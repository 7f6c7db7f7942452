//! A person's own data: who they are and how to reach them. It is stored
//! only sealed, under the case's key; this module holds its shape, its
//! rules, and the normalisation of names for the duplicate check.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::{invalid, Channel, Now};

/// The personal fields of a case, as stored and shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Personal {
    pub legal_name: Option<String>,
    pub alias: Option<String>,
    pub date_of_birth: Option<BirthDate>,
    pub contacts: Vec<Handle>,
    pub notes: Option<String>,
}

impl Personal {
    pub fn is_empty(&self) -> bool {
        self.legal_name.is_none()
            && self.alias.is_none()
            && self.date_of_birth.is_none()
            && self.contacts.is_empty()
            && self.notes.is_none()
    }

    /// What the duplicate check hashes: the normalised legal name and the
    /// date of birth, when both are known.
    pub fn duplicate_basis(&self) -> Option<String> {
        let name = normalise_name(self.legal_name.as_deref()?);
        let born = self.date_of_birth?;
        (!name.is_empty()).then(|| format!("{name}\n{}", born.0))
    }
}

/// A way to reach the person: a phone number, a Signal or Telegram handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handle {
    pub channel: Channel,
    pub value: String,
}

/// A date of birth, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BirthDate(pub NaiveDate);

super::docs::documented!(
    BirthDate,
    super::docs::text(
        "A date of birth, YYYY-MM-DD.",
        "1990-05-17",
        Some(utoipa::openapi::schema::KnownFormat::Date),
    )
);

impl<'de> Deserialize<'de> for BirthDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(BirthDate)
            .map_err(|_| invalid("1990-01-01", "must be a date such as 1990-05-17"))
    }
}

/// For validator: a date of birth not in the future and not before 1900.
pub fn plausible_birth(date: &BirthDate, now: &Now) -> Result<(), validator::ValidationError> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    let today = now.0.with_timezone(&Utc).date_naive();
    if date.0 < earliest {
        Err(validator::ValidationError::new("birth").with_message("must not be before 1900".into()))
    } else if date.0 > today {
        Err(validator::ValidationError::new("birth")
            .with_message("must not be in the future".into()))
    } else {
        Ok(())
    }
}

/// A name as the duplicate check compares it: Unicode NFKC, case folded,
/// Cyrillic written in Latin by the ICAO Doc 9303 table, punctuation
/// dropped and whitespace collapsed. Names in this programme are written in
/// both scripts, so "Ахмед Канаров" and "AKHMED  kanarov" are one name.
pub fn normalise_name(name: &str) -> String {
    let folded = name.nfkc().collect::<String>().to_lowercase();
    let mut out = String::with_capacity(folded.len());
    for ch in folded.chars() {
        if ch.is_whitespace() {
            out.push(' ');
        } else if ch == 'ß' {
            out.push_str("ss");
        } else if let Some(latin) = icao_latin(ch) {
            out.push_str(latin);
        } else if ch.is_alphanumeric() {
            out.push(ch);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// ICAO Doc 9303 (part 3) transliteration of a lower-case Cyrillic letter.
fn icao_latin(ch: char) -> Option<&'static str> {
    Some(match ch {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' | 'ѓ' => "g",
        'д' | 'ђ' => "d",
        'е' | 'ё' | 'э' => "e",
        'є' | 'ъ' => "ie",
        'ж' => "zh",
        'з' => "z",
        'ѕ' | 'џ' => "dz",
        'и' | 'і' | 'ї' | 'й' => "i",
        'ј' => "j",
        'к' | 'ќ' => "k",
        'л' => "l",
        'љ' => "lj",
        'м' => "m",
        'н' => "n",
        'њ' => "nj",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'ћ' => "c",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ы' => "y",
        'ь' => "",
        'ю' => "iu",
        'я' => "ia",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_in_cyrillic_and_in_latin_normalise_alike() {
        assert_eq!(normalise_name("Ахмед Канаров"), "akhmed kanarov");
        assert_eq!(normalise_name("AKHMED  kanarov"), "akhmed kanarov");
        assert_eq!(normalise_name(" Akhmed\tKanarov. "), "akhmed kanarov");
    }

    #[test]
    fn the_icao_table_covers_the_letters_that_differ_most() {
        assert_eq!(normalise_name("Щукин"), "shchukin");
        assert_eq!(normalise_name("Юлия Чернышёва"), "iuliia chernysheva");
        assert_eq!(normalise_name("Хадижат"), "khadizhat");
        assert_eq!(normalise_name("Зелимхан Ильясович"), "zelimkhan iliasovich");
        assert_eq!(normalise_name("Объедков"), "obieedkov");
    }

    #[test]
    fn compatibility_forms_case_and_punctuation_do_not_matter() {
        // Full-width letters (NFKC), German sharp s (case folding), an apostrophe.
        assert_eq!(normalise_name("ＡＫＨＭＥＤ"), "akhmed");
        assert_eq!(normalise_name("Straße"), normalise_name("STRASSE"));
        assert_eq!(normalise_name("O'Neil-Smith"), "oneilsmith");
    }

    #[test]
    fn the_duplicate_basis_needs_a_name_and_a_birth_date() {
        let born = BirthDate(NaiveDate::from_ymd_opt(1994, 3, 2).unwrap());
        let mut person = Personal {
            legal_name: Some("Ахмед Канаров".into()),
            ..Personal::default()
        };
        assert_eq!(person.duplicate_basis(), None);
        person.date_of_birth = Some(born);
        assert_eq!(
            person.duplicate_basis().as_deref(),
            Some("akhmed kanarov\n1994-03-02")
        );
        person.legal_name = Some("...".into());
        assert_eq!(person.duplicate_basis(), None, "nothing left to compare");
    }
}
