//! The canonical deal: what every host adapter turns its CRM record into before the core sees it.
//!
//! Adapters send JSON (camelCase). Parsing checks shape only and reports every problem at once;
//! whether a particular template can be filled from the deal is the mapping's question.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json_input::{key_path, type_name, Checker};
use crate::json_output::{object, ToJson};
use crate::model::is_valid_crm_id;
use crate::time;

#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    /// The CRM's id of the deal record (HubSpot deal id, Salesforce Opportunity id, ...).
    pub id: String,
    pub name: String,
    pub amount: Option<f64>,
    /// ISO 4217 code, upper case.
    pub currency: Option<String>,
    /// The CRM's internal stage value (not its label).
    pub stage: Option<String>,
    /// Normalised to `YYYY-MM-DD` (CRMs send dates, datetimes or epoch milliseconds).
    pub close_date: Option<String>,
    pub owner: Option<Person>,
    pub account: Option<Account>,
    pub primary_contact: Option<Contact>,
    /// Any other CRM property, by its CRM name, exactly as the CRM gave it.
    pub custom: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: Option<String>,
    pub name: String,
    pub jurisdiction_iso_code: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub line_one: Option<String>,
    pub line_two: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub country_iso_code: Option<String>,
    pub zipcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

// The camelCase form `from_json` reads, so a deal written out reads back the same (the sidebar
// sends its deal to the relay this way). One hand-written form serves every serializer.
impl ToJson for Deal {
    fn to_json(&self) -> Value {
        object([
            ("id", self.id.to_json()),
            ("name", self.name.to_json()),
            ("amount", self.amount.to_json()),
            ("currency", self.currency.to_json()),
            ("stage", self.stage.to_json()),
            ("closeDate", self.close_date.to_json()),
            ("owner", self.owner.to_json()),
            ("account", self.account.to_json()),
            ("primaryContact", self.primary_contact.to_json()),
            (
                "custom",
                Value::Object(self.custom.iter().fold(Map::new(), |mut map, (key, value)| {
                    map.insert(key.clone(), value.clone());
                    map
                })),
            ),
        ])
    }
}

impl serde::Serialize for Deal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl ToJson for Person {
    fn to_json(&self) -> Value {
        object([("name", self.name.to_json()), ("email", self.email.to_json())])
    }
}

impl ToJson for Account {
    fn to_json(&self) -> Value {
        object([
            ("id", self.id.to_json()),
            ("name", self.name.to_json()),
            ("jurisdictionIsoCode", self.jurisdiction_iso_code.to_json()),
            ("address", self.address.to_json()),
        ])
    }
}

impl ToJson for Address {
    fn to_json(&self) -> Value {
        object([
            ("lineOne", self.line_one.to_json()),
            ("lineTwo", self.line_two.to_json()),
            ("city", self.city.to_json()),
            ("state", self.state.to_json()),
            ("country", self.country.to_json()),
            ("countryIsoCode", self.country_iso_code.to_json()),
            ("zipcode", self.zipcode.to_json()),
        ])
    }
}

impl ToJson for Contact {
    fn to_json(&self) -> Value {
        object([
            ("id", self.id.to_json()),
            ("firstName", self.first_name.to_json()),
            ("lastName", self.last_name.to_json()),
            ("email", self.email.to_json()),
        ])
    }
}

const TEXT_MAX: usize = 500;

/// A plausible email: one `@`, something before it, a dotted domain after it. SpotDraft does the
/// real validation; this catches CRM fields holding a name or a phone number instead.
pub fn is_plausible_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

pub fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

pub fn is_country_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase())
}

impl Deal {
    /// Parses the JSON a host adapter produced.
    pub fn from_json(value: &Value) -> Result<Deal> {
        let mut check = Checker::default();
        let deal = read_deal(&mut check, value);
        match deal {
            Some(deal) if check.is_clean() => Ok(deal),
            _ => Err(Error::InvalidInput(check.problems)),
        }
    }
}

fn read_deal(check: &mut Checker, value: &Value) -> Option<Deal> {
    let map = check.object(value, "deal")?;
    check.no_unknown_keys(
        map,
        "deal",
        &["id", "name", "amount", "currency", "stage", "closeDate", "owner", "account", "primaryContact", "custom"],
    );
    let id = check.required_text(map, "deal", "id", 64);
    if let Some(id) = &id {
        if !is_valid_crm_id(id) {
            check.problem("deal.id", "must be the CRM record id (letters, digits, '-' or '_', at most 64)");
        }
    }
    let name = check.required_text(map, "deal", "name", TEXT_MAX);
    let amount = read_amount(check, map);
    let currency = check.optional_text(map, "deal", "currency", 3).map(|c| c.to_ascii_uppercase());
    if let Some(code) = &currency {
        if !is_currency_code(code) {
            check.problem("deal.currency", "must be a three-letter ISO 4217 code such as USD");
        }
    }
    let stage = check.optional_text(map, "deal", "stage", TEXT_MAX);
    let close_date = read_date(check, map.get("closeDate"), "deal.closeDate");
    let owner = optional_object(check, map, "deal", "owner").map(|(m, path)| Person {
        name: check.optional_text(m, &path, "name", TEXT_MAX),
        email: read_email(check, m, &path),
    });
    let account = optional_object(check, map, "deal", "account").and_then(|(m, path)| read_account(check, m, &path));
    let primary_contact = optional_object(check, map, "deal", "primaryContact").map(|(m, path)| {
        check.no_unknown_keys(m, &path, &["id", "firstName", "lastName", "email"]);
        Contact {
            id: check.optional_text(m, &path, "id", 64),
            first_name: check.optional_text(m, &path, "firstName", TEXT_MAX),
            last_name: check.optional_text(m, &path, "lastName", TEXT_MAX),
            email: read_email(check, m, &path),
        }
    });
    let custom = match map.get("custom") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(value) => check
            .object(value, "deal.custom")
            // Inserted one by one: `collect` into a B-tree sorts first and links a sort routine.
            .map(|m| {
                m.iter().fold(BTreeMap::new(), |mut custom, (key, value)| {
                    custom.insert(key.clone(), value.clone());
                    custom
                })
            })
            .unwrap_or_default(),
    };
    Some(Deal { id: id?, name: name?, amount, currency, stage, close_date, owner, account, primary_contact, custom })
}

fn optional_object<'v>(
    check: &mut Checker,
    map: &'v Map<String, Value>,
    path: &str,
    key: &str,
) -> Option<(&'v Map<String, Value>, String)> {
    let path = key_path(path, key);
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(value) => check.object(value, &path).map(|m| (m, path)),
    }
}

fn read_email(check: &mut Checker, map: &Map<String, Value>, path: &str) -> Option<String> {
    let email = check.optional_text(map, path, "email", 254)?;
    if is_plausible_email(&email) {
        Some(email)
    } else {
        check.problem(key_path(path, "email"), format!("\"{email}\" is not an email address"));
        None
    }
}

/// CRMs store amounts as numbers or decimal strings (HubSpot: `"12000.50"`).
fn read_amount(check: &mut Checker, map: &Map<String, Value>) -> Option<f64> {
    let parsed = match map.get("amount")? {
        Value::Null => return None,
        Value::String(s) if s.trim().is_empty() => return None,
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_decimal(s.trim()),
        _ => None,
    };
    match parsed {
        Some(amount) if amount.is_finite() && amount >= 0.0 => Some(amount),
        _ => {
            check.problem("deal.amount", "must be a non-negative number such as 12000.50");
            None
        }
    }
}

/// A plain decimal (`-?digits[.digits]`), refusing `NaN`, `inf`, exponents and thousands separators.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let valid = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(unsigned.contains('.') && fraction.is_empty());
    if valid {
        crate::json_input::decimal_to_f64(text)
    } else {
        None
    }
}

/// A date as CRMs send it: `YYYY-MM-DD`, an ISO timestamp (its UTC date), or epoch milliseconds.
pub fn normalise_date(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let s = s.trim();
            if let Some(date) = time::Date::parse(s) {
                Some(date.to_string())
            } else if let Some(ms) = s.parse::<i64>().ok().filter(|_| s.len() > 10) {
                epoch_ms_date(ms)
            } else {
                time::parse_timestamp(s).and_then(time::date_of).map(|d| d.to_string())
            }
        }
        Value::Number(n) => n.as_i64().and_then(epoch_ms_date),
        _ => None,
    }
}

fn epoch_ms_date(ms: i64) -> Option<String> {
    time::date_of(ms.checked_mul(1000)?).map(|d| d.to_string())
}

fn read_date(check: &mut Checker, value: Option<&Value>, path: &str) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(value) => {
            let date = normalise_date(value);
            if date.is_none() {
                check.problem(
                    path,
                    format!(
                        "expected a date (YYYY-MM-DD, ISO timestamp or epoch milliseconds), found {}",
                        type_name(value)
                    ),
                );
            }
            date
        }
    }
}

fn read_account(check: &mut Checker, map: &Map<String, Value>, path: &str) -> Option<Account> {
    check.no_unknown_keys(map, path, &["id", "name", "jurisdictionIsoCode", "address"]);
    let id = check.optional_text(map, path, "id", 64);
    let name = check.required_text(map, path, "name", TEXT_MAX);
    let jurisdiction_iso_code =
        check.optional_text(map, path, "jurisdictionIsoCode", 2).map(|c| c.to_ascii_uppercase());
    if let Some(code) = &jurisdiction_iso_code {
        if !is_country_code(code) {
            check.problem(key_path(path, "jurisdictionIsoCode"), "must be a two-letter ISO 3166 country code");
        }
    }
    let address = optional_object(check, map, path, "address").map(|(m, path)| {
        check.no_unknown_keys(
            m,
            &path,
            &["lineOne", "lineTwo", "city", "state", "country", "countryIsoCode", "zipcode"],
        );
        let country_iso_code = check.optional_text(m, &path, "countryIsoCode", 2).map(|c| c.to_ascii_uppercase());
        if let Some(code) = &country_iso_code {
            if !is_country_code(code) {
                check.problem(key_path(&path, "countryIsoCode"), "must be a two-letter ISO 3166 country code");
            }
        }
        Address {
            line_one: check.optional_text(m, &path, "lineOne", TEXT_MAX),
            line_two: check.optional_text(m, &path, "lineTwo", TEXT_MAX),
            city: check.optional_text(m, &path, "city", TEXT_MAX),
            state: check.optional_text(m, &path, "state", TEXT_MAX),
            country: check.optional_text(m, &path, "country", TEXT_MAX),
            country_iso_code,
            zipcode: check.optional_text(m, &path, "zipcode", 32),
        }
    });
    Some(Account { id, name: name?, jurisdiction_iso_code, address })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_hubspot_style_deal() {
        let deal = Deal::from_json(&json!({
            "id": "1001", "name": " Acme renewal ", "amount": "12000.50", "currency": "usd",
            "stage": "contractsent", "closeDate": "2026-03-28T00:00:00Z",
            "account": {"id": "77", "name": "acme", "address": {"city": "Austin", "countryIsoCode": "us"}},
            "primaryContact": {"firstName": "Avery", "email": "avery@acme.example"},
            "custom": {"term_months": "12"}
        }))
        .unwrap();
        assert_eq!(deal.name, "Acme renewal");
        assert_eq!(deal.amount, Some(12000.5));
        assert_eq!(deal.currency.as_deref(), Some("USD"));
        assert_eq!(deal.close_date.as_deref(), Some("2026-03-28"));
        assert_eq!(deal.account.unwrap().address.unwrap().country_iso_code.as_deref(), Some("US"));
    }

    #[test]
    fn epoch_millisecond_dates_are_utc_dates() {
        assert_eq!(normalise_date(&json!(1774656000000_i64)).as_deref(), Some("2026-03-28"));
        assert_eq!(normalise_date(&json!("1774656000000")).as_deref(), Some("2026-03-28"));
        assert_eq!(normalise_date(&json!("28/03/2026")), None);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let err = Deal::from_json(&json!({
            "id": "10 01", "amount": "12,000", "currency": "dollars", "closeDate": "next week",
            "primaryContact": {"email": "Avery Stone"}, "account": {"name": ""}, "colour": "red"
        }))
        .unwrap_err();
        let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "deal.id",
            "deal.name",
            "deal.amount",
            "deal.currency",
            "deal.closeDate",
            "deal.primaryContact.email",
            "deal.account.name",
            "deal.colour",
        ] {
            assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
        }
        assert_eq!(err.code(), "invalid_input");
        assert!(Deal::from_json(&json!([1, 2])).is_err());
        assert!(Deal::from_json(&json!({"id": "1", "name": "x", "amount": "NaN"})).is_err());
        assert!(Deal::from_json(&json!({"id": "1", "name": "x", "amount": -5})).is_err());
    }

    #[test]
    fn decimals_are_plain() {
        assert_eq!(parse_decimal("12000.50"), Some(12000.5));
        for bad in ["1e5", "inf", "NaN", "12,000", "1.", ".5", "", "-"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }
}
