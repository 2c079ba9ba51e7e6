//! Key terms on the deal: SpotDraft's contract metadata values ("key pointers"), by field name,
//! written to CRM fields with a typed conversion. Configured per environment as
//! `crm.keyTerms: [{"keyPointer": "contract_value", "field": "spotdraft_contract_value", "as": "amount"}]`.
//!
//! The relay reads the values fresh from SpotDraft (the system of record) under the record's lock and
//! writes only the fields whose text differs from what the CRM holds, so a redelivered or reordered
//! activity can never put an older value back: whoever holds the lock last read SpotDraft last.

use serde_json::{Map, Value};

use crate::error::{Error, Problem, Result};
use crate::json_input::{key_path, Checker};
use crate::spotdraft::types::KeyPointerValue;

/// How a key pointer's value becomes a CRM field's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "as")]
pub enum Conversion {
    /// Text as SpotDraft shows it (a dropdown's value, a number, a list joined with ", ").
    Text,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A currency value's amount (`{"type": "USD", "value": 1000}` → `1000`).
    Amount,
    /// A currency value's code (`USD`).
    CurrencyCode,
    /// A duration in whole months (`{"type": "YEARS", "value": 2}` → `24`).
    Months,
    /// A duration in days (its `days`, else worked out from its unit).
    Days,
    /// `true` / `false`.
    Boolean,
    /// A SpotDraft value mapped to the CRM's own option value; a value not listed is refused.
    Enum { values: Vec<(String, String)> },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyTerm {
    pub key_pointer: String,
    pub field: String,
    #[serde(flatten)]
    pub conversion: Conversion,
}

/// Reads `crm.keyTerms`; every problem with its path.
pub fn read(check: &mut Checker, value: &Value, path: &str) -> Option<Vec<KeyTerm>> {
    let items = check.array(value, path)?;
    let mut terms = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = crate::json_input::index_path(path, index);
        let Some(map) = check.object(item, &at) else { continue };
        check.no_unknown_keys(map, &at, &["keyPointer", "field", "as", "values"]);
        let key_pointer = check.required_text(map, &at, "keyPointer", 200);
        let field = check.required_text(map, &at, "field", 100).filter(|name| {
            let ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                check.problem(
                    key_path(&at, "field"),
                    format!("\"{name}\" is not a CRM field name (letters, digits, _)"),
                );
            }
            ok
        });
        let kind = check.required_text(map, &at, "as", 40);
        let conversion = kind.and_then(|kind| match kind.as_str() {
            "text" => Some(Conversion::Text),
            "date" => Some(Conversion::Date),
            "amount" => Some(Conversion::Amount),
            "currencyCode" => Some(Conversion::CurrencyCode),
            "months" => Some(Conversion::Months),
            "days" => Some(Conversion::Days),
            "boolean" => Some(Conversion::Boolean),
            "enum" => {
                let values = map.get("values").and_then(|v| check.text_map(v, &key_path(&at, "values"), 200));
                match values {
                    Some(values) if !values.is_empty() => {
                        Some(Conversion::Enum { values: values.into_iter().collect() })
                    }
                    Some(_) | None => {
                        check.problem(
                            key_path(&at, "values"),
                            "an enum needs its values: {\"SpotDraft value\": \"CRM value\"}",
                        );
                        None
                    }
                }
            }
            other => {
                check.problem(
                    key_path(&at, "as"),
                    format!("\"{other}\" is not one of text, date, amount, currencyCode, months, days, boolean, enum"),
                );
                None
            }
        });
        if let (Some(key_pointer), Some(field), Some(conversion)) = (key_pointer, field, conversion) {
            if terms.iter().any(|t: &KeyTerm| t.field == field) {
                check.problem(key_path(&at, "field"), format!("{field} already holds another key term"));
                continue;
            }
            terms.push(KeyTerm { key_pointer, field, conversion });
        }
    }
    Some(terms)
}

/// The CRM text for `value` (`None`: SpotDraft holds no value, so the field is cleared).
pub fn convert(conversion: &Conversion, value: &Value) -> std::result::Result<Option<String>, String> {
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(None);
    }
    let number = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
    let text = match conversion {
        Conversion::Text => match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
            Value::Object(map) => match (map.get("value"), map.get("type")) {
                (Some(v), Some(t)) => format!("{} {}", plain(v), plain(t)),
                _ => return Err("a structured value has no text form; map it as amount, months or days".into()),
            },
            Value::Null => return Ok(None),
        },
        Conversion::Date => {
            let s = value
                .as_str()
                .ok_or_else(|| format!("expected a date, found {}", crate::json_input::describe(value)))?;
            let date = s.get(..10).unwrap_or(s);
            crate::time::Date::parse(date).ok_or_else(|| format!("\"{s}\" is not a date"))?;
            date.to_string()
        }
        Conversion::Amount => {
            let amount = value.get("value").and_then(number).or_else(|| number(value));
            format_number(
                amount.ok_or_else(|| {
                    format!("expected a currency value, found {}", crate::json_input::describe(value))
                })?,
            )
        }
        Conversion::CurrencyCode => value
            .get("type")
            .and_then(Value::as_str)
            .map(|code| code.trim().to_ascii_uppercase())
            .ok_or_else(|| format!("expected a currency value, found {}", crate::json_input::describe(value)))?,
        Conversion::Months | Conversion::Days => {
            let count = value.get("value").and_then(number);
            let unit = value.get("type").and_then(Value::as_str).map(str::to_ascii_uppercase);
            let days = value.get("days").and_then(number);
            let (count, unit) = match (count, unit) {
                (Some(count), Some(unit)) => (count, unit),
                _ => return Err(format!("expected a duration, found {}", crate::json_input::describe(value))),
            };
            let result = match (conversion, unit.as_str()) {
                (Conversion::Months, "MONTHS") => count,
                (Conversion::Months, "YEARS") => count * 12.0,
                (Conversion::Days, "DAYS") => count,
                (Conversion::Days, "WEEKS") => count * 7.0,
                (Conversion::Days, _) if days.is_some() => days.unwrap_or_default(),
                (Conversion::Months, other) => {
                    return Err(format!("a duration in {} has no whole number of months", other.to_ascii_lowercase()))
                }
                (_, other) => return Err(format!("a duration in {} has no day count", other.to_ascii_lowercase())),
            };
            format_number(result)
        }
        Conversion::Boolean => match value {
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("expected true or false, found {}", crate::json_input::describe(other))),
        },
        Conversion::Enum { values } => {
            let key = plain(value);
            values
                .iter()
                .find(|(from, _)| *from == key)
                .map(|(_, to)| to.clone())
                .ok_or_else(|| format!("\"{key}\" is not one of the values this key term maps"))?
        }
    };
    Ok(Some(text))
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// Whole numbers without a fraction; others with up to two decimals, as CRMs show amounts.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let text = format!("{n:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One field to write: its text (`""` clears) and whether the CRM should take it as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldWrite {
    pub field: String,
    pub text: String,
    pub numeric: bool,
}

impl Conversion {
    fn numeric(&self) -> bool {
        matches!(self, Conversion::Amount | Conversion::Months | Conversion::Days)
    }
}

/// The fields to write: each configured term's converted value where it differs from what the CRM
/// holds (`current`, by field name). A value that cannot be converted fails the whole plan with its
/// problem named (`keyTerms.<keyPointer>`), so nothing is half-written.
pub fn plan(terms: &[KeyTerm], values: &[KeyPointerValue], current: &Map<String, Value>) -> Result<Vec<FieldWrite>> {
    let mut writes = Vec::new();
    let mut problems = Vec::new();
    for term in terms {
        let value = values.iter().find(|v| v.field_name == term.key_pointer).map_or(&Value::Null, |v| &v.value);
        match convert(&term.conversion, value) {
            Ok(converted) => {
                let wanted = converted.unwrap_or_default();
                let held = current.get(&term.field).map(plain_or_empty).unwrap_or_default();
                if !same(&held, &wanted) {
                    writes.push(FieldWrite {
                        field: term.field.clone(),
                        text: wanted,
                        numeric: term.conversion.numeric(),
                    });
                }
            }
            Err(reason) => problems.push(Problem::new(key_path("keyTerms", &term.key_pointer), reason)),
        }
    }
    if problems.is_empty() {
        Ok(writes)
    } else {
        Err(Error::MappingFailed(problems))
    }
}

fn plain_or_empty(value: &Value) -> String {
    if value.is_null() {
        String::new()
    } else {
        plain(value)
    }
}

/// CRMs echo what they store in their own form (`1000.0`, `2027-01-01T00:00:00.000Z` for a date):
/// equal numbers and equal dates count as the same.
fn same(held: &str, wanted: &str) -> bool {
    if held == wanted {
        return true;
    }
    if let (Ok(a), Ok(b)) = (held.parse::<f64>(), wanted.parse::<f64>()) {
        return (a - b).abs() < 1e-9;
    }
    wanted.len() == 10 && held.len() > 10 && held.starts_with(wanted) && held.as_bytes().get(10) == Some(&b'T')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(field: &str, value: Value) -> KeyPointerValue {
        KeyPointerValue { id: 1, value, label: field.into(), field_name: field.into(), data_type: String::new() }
    }

    #[test]
    fn conversions_follow_spotdrafts_value_formats() {
        assert_eq!(convert(&Conversion::Date, &json!("2027-01-31")).unwrap().as_deref(), Some("2027-01-31"));
        assert_eq!(convert(&Conversion::Date, &json!("2027-01-31T10:00:00Z")).unwrap().as_deref(), Some("2027-01-31"));
        assert!(convert(&Conversion::Date, &json!("31/01/2027")).is_err());
        let money = json!({"type": "usd", "value": 18000.5});
        assert_eq!(convert(&Conversion::Amount, &money).unwrap().as_deref(), Some("18000.5"));
        assert_eq!(convert(&Conversion::CurrencyCode, &money).unwrap().as_deref(), Some("USD"));
        let term = json!({"days": 730, "type": "YEARS", "value": 2});
        assert_eq!(convert(&Conversion::Months, &term).unwrap().as_deref(), Some("24"));
        assert_eq!(convert(&Conversion::Days, &term).unwrap().as_deref(), Some("730"));
        assert!(convert(&Conversion::Months, &json!({"type": "DAYS", "value": 45})).unwrap_err().contains("months"));
        assert_eq!(convert(&Conversion::Boolean, &json!(true)).unwrap().as_deref(), Some("true"));
        assert_eq!(convert(&Conversion::Text, &json!(["a", "b"])).unwrap().as_deref(), Some("a, b"));
        let cadence = Conversion::Enum { values: vec![("annually".into(), "Annual".into())] };
        assert_eq!(convert(&cadence, &json!("annually")).unwrap().as_deref(), Some("Annual"));
        assert!(convert(&cadence, &json!("weekly")).unwrap_err().contains("weekly"));
        assert_eq!(convert(&Conversion::Amount, &Value::Null).unwrap(), None, "no value clears the field");
    }

    #[test]
    fn only_what_changed_is_written_and_a_bad_value_writes_nothing() {
        let terms = vec![
            KeyTerm { key_pointer: "contract_value".into(), field: "sd_value".into(), conversion: Conversion::Amount },
            KeyTerm { key_pointer: "agreement_date".into(), field: "sd_date".into(), conversion: Conversion::Date },
            KeyTerm {
                key_pointer: "subscription_term".into(),
                field: "sd_months".into(),
                conversion: Conversion::Months,
            },
        ];
        let values = vec![
            value("contract_value", json!({"type": "USD", "value": 18000})),
            value("agreement_date", json!("2027-01-31")),
        ];
        // The CRM echoes numbers and dates in its own form; those count as the same.
        let current = json!({"sd_value": "18000.0", "sd_date": "2027-01-31T00:00:00.000Z", "sd_months": "12"});
        let writes = plan(&terms, &values, current.as_object().unwrap()).unwrap();
        assert_eq!(
            writes,
            vec![FieldWrite { field: "sd_months".into(), text: String::new(), numeric: true }],
            "the term SpotDraft no longer holds is cleared"
        );
        let bad = vec![value("agreement_date", json!("someday"))];
        let error = plan(&terms, &bad, &Map::new()).unwrap_err();
        assert_eq!(error.problems()[0].path, "keyTerms.agreement_date");
    }

    #[test]
    fn configuration_problems_are_named() {
        let mut check = Checker::default();
        let doc = json!([
            {"keyPointer": "contract_value", "field": "sd_value", "as": "amount"},
            {"keyPointer": "x", "field": "bad-name", "as": "amount"},
            {"keyPointer": "y", "field": "sd_y", "as": "colour"},
            {"keyPointer": "z", "field": "sd_value", "as": "text"},
            {"keyPointer": "w", "field": "sd_w", "as": "enum"},
        ]);
        let terms = read(&mut check, &doc, "crm.keyTerms").unwrap();
        assert_eq!(terms.len(), 1);
        let paths: Vec<&str> = check.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["crm.keyTerms[1].field", "crm.keyTerms[2].as", "crm.keyTerms[3].field", "crm.keyTerms[4].values"]
        );
    }
}
