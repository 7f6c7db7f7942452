//! A person's journey in legs: how they travel, the moves of a leg's state,
//! and what a leg costs (a decimal amount and its ISO 4217 currency, never
//! a float).

use serde::{Deserialize, Serialize};

use super::{invalid, string_enum};

string_enum!(
    /// How a leg is travelled.
    TravelMode {
        Air => "air",
        Rail => "rail",
        Bus => "bus",
        Car => "car",
        Sea => "sea",
        OnFoot => "on_foot",
        Other => "other",
    }
);

string_enum!(
    /// What money was spent on.
    ExpenseCategory {
        Transport => "transport",
        Housing => "housing",
        Documents => "documents",
        Medical => "medical",
        Legal => "legal",
        Subsistence => "subsistence",
        Other => "other",
    }
);

string_enum!(
    /// Where a leg stands.
    LegStatus {
        Planned => "planned",
        Departed => "departed",
        Arrived => "arrived",
        Missed => "missed",
        Cancelled => "cancelled",
    }
);

impl LegStatus {
    /// The states a leg in this one may move to. A missed leg is planned
    /// again (rebooked); an arrived or cancelled one is over.
    pub fn allowed_targets(self) -> &'static [LegStatus] {
        use LegStatus::*;
        match self {
            Planned => &[Departed, Missed, Cancelled],
            Departed => &[Arrived, Missed],
            Missed => &[Planned, Cancelled],
            Arrived | Cancelled => &[],
        }
    }

    pub fn may_move_to(self, to: LegStatus) -> bool {
        self == to || self.allowed_targets().contains(&to)
    }
}

/// ISO 4217 currencies in use.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS \
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN \
MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG \
SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS \
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && CURRENCIES.split(' ').any(|c| c == code)
}

/// An amount of money: `{"amount": "120.50", "currency": "EUR"}`. The
/// amount is a decimal string (up to 12 digits, up to 4 after the point),
/// kept as written once made canonical (no leading zeros, no trailing point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Money {
    #[schema(pattern = "^[0-9]{1,12}(\\.[0-9]{1,4})?$", example = "120.50")]
    pub amount: String,
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
}

impl Money {
    /// `amount` (made canonical) in `currency`, or why not.
    pub fn new(amount: &str, currency: &str) -> Result<Money, &'static str> {
        let scaled = parse_amount(amount)
            .ok_or("amount must be a decimal string such as \"120.50\" (up to 4 places)")?;
        if !is_currency(currency) {
            return Err("currency must be an ISO 4217 code in capitals, such as EUR or RUB");
        }
        Ok(Money {
            amount: format_amount(scaled),
            currency: currency.to_string(),
        })
    }

    /// The amount in ten-thousandths, for sums.
    pub fn ten_thousandths(&self) -> Option<i128> {
        parse_amount(&self.amount)
    }
}

/// `amount` in ten-thousandths, if it is a decimal this API accepts.
pub fn parse_amount(amount: &str) -> Option<i128> {
    let (whole, fraction) = match amount.split_once('.') {
        Some((w, f)) => (w, f),
        None => (amount, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || !digits(whole) {
        return None;
    }
    if amount.contains('.') && (fraction.is_empty() || fraction.len() > 4) || !digits(fraction) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let mut scaled = whole * 10_000;
    let mut place = 1_000;
    for digit in fraction.bytes() {
        scaled += i128::from(digit - b'0') * place;
        place /= 10;
    }
    Some(scaled)
}

/// Ten-thousandths written back as a decimal with at least two places.
pub fn format_amount(scaled: i128) -> String {
    let (whole, fraction) = (scaled / 10_000, scaled % 10_000);
    let mut text = format!("{whole}.{fraction:04}");
    while text.ends_with('0') && text.len() - text.find('.').unwrap_or(0) > 3 {
        text.pop();
    }
    text
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            amount: String,
            currency: String,
        }
        let raw = Raw::deserialize(d)?;
        Money::new(&raw.amount, &raw.currency)
            .map_err(|why| invalid(r#"{"amount": "1.00", "currency": "EUR"}"#, why))
    }
}

/// A place on a journey: a city and its country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Place {
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    #[schema(pattern = "^[A-Z]{2}$", example = "LT")]
    pub country: String,
}

impl Place {
    /// Why it is not acceptable, if it is not.
    pub fn check(&self) -> Result<(), &'static str> {
        let city = self.city.trim();
        if city.is_empty() || city.chars().count() > 100 || city.chars().any(char::is_control) {
            return Err("city must be one line of 1 to 100 characters");
        }
        if !super::country::is_country(&self.country) {
            return Err("country must be an ISO 3166-1 alpha-2 code in capitals, such as LT");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_made_canonical() {
        assert_eq!(parse_amount("120.5"), Some(1_205_000));
        assert_eq!(format_amount(1_205_000), "120.50");
        assert_eq!(format_amount(parse_amount("0.0001").unwrap()), "0.0001");
        assert_eq!(format_amount(parse_amount("7").unwrap()), "7.00");
        for bad in [
            "",
            ".5",
            "5.",
            "-1",
            "1e3",
            "1.23456",
            "1,5",
            "9999999999999",
            " 1",
            "NaN",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        let money: Money =
            serde_json::from_str(r#"{"amount": "0120.50", "currency": "EUR"}"#).unwrap();
        assert_eq!(money.amount, "120.50");
        assert!(serde_json::from_str::<Money>(r#"{"amount": 120.5, "currency": "EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount": "1", "currency": "eur"}"#).is_err());
        assert!(is_currency("RUB") && is_currency("CAD") && !is_currency("XXX"));
    }

    #[test]
    fn a_leg_moves_forward_or_is_rebooked() {
        assert!(LegStatus::Planned.may_move_to(LegStatus::Departed));
        assert!(LegStatus::Departed.may_move_to(LegStatus::Arrived));
        assert!(!LegStatus::Arrived.may_move_to(LegStatus::Departed));
        assert!(LegStatus::Missed.may_move_to(LegStatus::Planned));
        assert!(!LegStatus::Cancelled.may_move_to(LegStatus::Planned));
    }
}
