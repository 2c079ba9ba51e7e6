//! Types that cross to the sidebar's shell, or from the relay to the sidebar, each declared once: one
//! macro invocation gives the Rust type, its JSON writer and reader (and serde, through them), and
//! its TypeScript declaration. The sidebar's build can't
//! afford a serializer framework (see the README's "Why not serde on the sidebar's path"), so the
//! codec is generated here from the same field list the TypeScript is, and the two cannot drift.
//!
//! `shell_struct!` declares an object, `shell_enum!` a string-literal union, `shell_union!` an
//! object tagged by `type`. `T::declare` adds every declaration `T` needs; the sidebar package's
//! TypeScript is generated from them (`sidebar::typescript`, checked by `tests/shell_typescript.rs`).

use serde_json::{Map, Value};

use crate::json_input::{index_path, key_path, type_name};
use crate::model::{ContractId, ContractStatus, Environment};

/// How a type is spelled in TypeScript, and the declarations it needs.
pub trait TypeScript {
    /// How a field of this type is written (`string`, `SidebarBanner | null`).
    fn ts() -> String;
    /// Adds the declarations this type needs, its own first; none for built-in types.
    fn declare(_out: &mut Vec<(String, String)>) {}
}

/// Reads a value of this type from the shell's JSON; errors name the path (`contractId: expected a
/// string, found a number`, `banner.tone: …`).
pub trait FromShell: Sized {
    /// A present, non-null value at `path`.
    fn from_value(value: &Value, path: &str) -> Result<Self, String>;
    /// What an absent or null field reads as: an error naming it, except for options.
    fn absent(path: &str) -> Result<Self, String> {
        Err(format!("{path}: is required"))
    }
}

/// The field `key` of an object at `parent`.
pub fn field<T: FromShell>(map: &Map<String, Value>, parent: &str, key: &str) -> Result<T, String> {
    let path = key_path(parent, key);
    match map.get(key) {
        None | Some(Value::Null) => T::absent(&path),
        Some(value) => T::from_value(value, &path),
    }
}

/// The object at `path`, or an error naming it.
pub fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, String> {
    value.as_object().ok_or_else(|| expected(path, "an object", value))
}

fn expected(path: &str, what: &str, value: &Value) -> String {
    let at = if path.is_empty() { "(top level)" } else { path };
    format!("{at}: expected {what}, found {}", type_name(value))
}

/// Adds `declaration` under `name` unless it is there already; true when it was added (so its own
/// dependencies are declared once too).
pub fn add(out: &mut Vec<(String, String)>, name: &str, declaration: String) -> bool {
    if out.iter().any(|(known, _)| known == name) {
        return false;
    }
    out.push((name.to_string(), declaration));
    true
}

/// Rust doc lines as a TSDoc comment at `indent` (nothing when there are none).
pub fn doc_comment(lines: &[&str], indent: &str) -> String {
    match lines {
        [] => String::new(),
        [one] => format!("{indent}/** {} */\n", one.trim()),
        many => {
            let body: String = many.iter().map(|line| format!("{indent} * {}\n", line.trim())).collect();
            format!("{indent}/**\n{body}{indent} */\n")
        }
    }
}

impl TypeScript for String {
    fn ts() -> String {
        "string".into()
    }
}

impl FromShell for String {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        value.as_str().map(str::to_string).ok_or_else(|| expected(path, "a string", value))
    }
}

impl TypeScript for bool {
    fn ts() -> String {
        "boolean".into()
    }
}

impl FromShell for bool {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        value.as_bool().ok_or_else(|| expected(path, "true or false", value))
    }
}

macro_rules! numbers {
    ($($ty:ty),*) => {$(
        impl TypeScript for $ty {
            fn ts() -> String {
                "number".into()
            }
        }

        impl FromShell for $ty {
            fn from_value(value: &Value, path: &str) -> Result<Self, String> {
                value
                    .as_u64()
                    .and_then(|n| <$ty>::try_from(n).ok())
                    .ok_or_else(|| expected(path, "a non-negative integer", value))
            }
        }
    )*};
}
numbers!(u32, u64, usize);

impl TypeScript for i32 {
    fn ts() -> String {
        "number".into()
    }
}

impl FromShell for i32 {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        value.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| expected(path, "an integer", value))
    }
}

impl TypeScript for ContractId {
    fn ts() -> String {
        "string".into()
    }
}

impl crate::json_output::ToJson for ContractId {
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl FromShell for ContractId {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        let text = String::from_value(value, path)?;
        ContractId::parse(&text).ok_or_else(|| format!("{path}: \"{text}\" is not a contract id such as T-123"))
    }
}

impl TypeScript for Environment {
    fn ts() -> String {
        "Environment".into()
    }
    fn declare(out: &mut Vec<(String, String)>) {
        let words: Vec<String> =
            [Environment::Uat, Environment::Production].iter().map(|e| format!("\"{}\"", e.as_str())).collect();
        add(out, "Environment", format!("export type Environment = {};", words.join(" | ")));
    }
}

impl crate::json_output::ToJson for Environment {
    fn to_json(&self) -> Value {
        Value::String(self.as_str().to_string())
    }
}

impl FromShell for Environment {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        let text = String::from_value(value, path)?;
        Environment::parse(&text).ok_or_else(|| format!("{path}: \"{text}\" is not uat or production"))
    }
}

/// `(CRM stage value, label)` pairs, in the order the configuration lists them; an object of strings
/// in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageLabels(pub Vec<(String, String)>);

impl TypeScript for StageLabels {
    fn ts() -> String {
        "Record<string, string>".into()
    }
}

impl crate::json_output::ToJson for StageLabels {
    fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(stage, label)| (stage.clone(), Value::String(label.clone()))).collect())
    }
}

impl FromShell for StageLabels {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        let map = object(value, path)?;
        let mut labels = Vec::new();
        for (stage, _) in map {
            labels.push((stage.clone(), field::<String>(map, path, stage)?));
        }
        Ok(StageLabels(labels))
    }
}

/// SpotDraft's statuses as it spells them; one it adds later still reads (as itself).
impl TypeScript for ContractStatus {
    fn ts() -> String {
        "ContractStatus".into()
    }
    fn declare(out: &mut Vec<(String, String)>) {
        let known: Vec<String> =
            ContractStatus::KNOWN.iter().map(|status| format!("\"{}\"", status.as_str())).collect();
        add(out, "ContractStatus", format!("export type ContractStatus = {} | (string & {{}});", known.join(" | ")));
    }
}

impl crate::json_output::ToJson for ContractStatus {
    fn to_json(&self) -> Value {
        Value::String(self.as_str().to_string())
    }
}

impl FromShell for ContractStatus {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        String::from_value(value, path).map(|text| ContractStatus::parse(&text))
    }
}

impl<T: TypeScript> TypeScript for Option<T> {
    fn ts() -> String {
        format!("{} | null", T::ts())
    }
    fn declare(out: &mut Vec<(String, String)>) {
        T::declare(out);
    }
}

impl<T: FromShell> FromShell for Option<T> {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        T::from_value(value, path).map(Some)
    }
    fn absent(_path: &str) -> Result<Self, String> {
        Ok(None)
    }
}

impl<T: TypeScript> TypeScript for Vec<T> {
    fn ts() -> String {
        let item = T::ts();
        if item.contains('|') {
            format!("Array<{item}>")
        } else {
            format!("{item}[]")
        }
    }
    fn declare(out: &mut Vec<(String, String)>) {
        T::declare(out);
    }
}

impl<T: FromShell> FromShell for Vec<T> {
    fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        let items = value.as_array().ok_or_else(|| expected(path, "an array", value))?;
        // A loop, not `collect` into a `Result`: the adapter that collect needs is a copy per `T`.
        let mut read = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            read.push(T::from_value(item, &index_path(path, index))?);
        }
        Ok(read)
    }
}

/// An object with named fields: `shell_struct! { /// doc  pub struct Banner as "SidebarBanner" {
/// tone: Tone => "tone", … } }`.
macro_rules! shell_struct {
    ($(#[doc = $doc:literal])* pub struct $name:ident as $ts:literal {
        $($(#[doc = $field_doc:literal])* $field:ident: $ty:ty => $key:literal,)*
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $($(#[doc = $field_doc])* pub $field: $ty,)*
        }

        impl $name {
            /// Every key the declaration names, in order.
            #[allow(dead_code)]
            pub const KEYS: &'static [&'static str] = &[$($key),*];
        }

        impl $crate::json_output::ToJson for $name {
            fn to_json(&self) -> serde_json::Value {
                $crate::json_output::object([$(($key, $crate::json_output::ToJson::to_json(&self.$field)),)*])
            }
        }

        impl $crate::shell_types::FromShell for $name {
            fn from_value(value: &serde_json::Value, path: &str) -> Result<Self, String> {
                let map = $crate::shell_types::object(value, path)?;
                Ok($name { $($field: $crate::shell_types::field(map, path, $key)?,)* })
            }
        }

        // Through the same writer and reader, so serde users (the relay's answers, the full JS API)
        // see exactly the shape the sidebar reads and the TypeScript declares.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&$crate::json_output::ToJson::to_json(self), serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                <$name as $crate::shell_types::FromShell>::from_value(&value, "").map_err(serde::de::Error::custom)
            }
        }

        impl $crate::shell_types::TypeScript for $name {
            fn ts() -> String {
                $ts.to_string()
            }
            fn declare(out: &mut Vec<(String, String)>) {
                let fields: Vec<String> = vec![$(format!(
                    "{}  {}: {};\n",
                    $crate::shell_types::doc_comment(&[$($field_doc),*], "  "),
                    $key,
                    <$ty as $crate::shell_types::TypeScript>::ts()
                ),)*];
                let declaration = format!(
                    "{}export interface {} {{\n{}}}",
                    $crate::shell_types::doc_comment(&[$($doc),*], ""),
                    $ts,
                    fields.concat()
                );
                if $crate::shell_types::add(out, $ts, declaration) {
                    $(<$ty as $crate::shell_types::TypeScript>::declare(out);)*
                }
            }
        }
    };
}
pub(crate) use shell_struct;

/// A string from a fixed set: `shell_enum! { pub enum Tone as "SidebarTone" { Error => "error", … } }`.
macro_rules! shell_enum {
    ($(#[doc = $doc:literal])* pub enum $name:ident as $ts:literal {
        $($variant:ident => $text:literal,)*
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl $crate::json_output::ToJson for $name {
            fn to_json(&self) -> serde_json::Value {
                serde_json::Value::String(self.as_str().to_string())
            }
        }

        impl $crate::shell_types::FromShell for $name {
            fn from_value(value: &serde_json::Value, path: &str) -> Result<Self, String> {
                let text = <String as $crate::shell_types::FromShell>::from_value(value, path)?;
                match text.as_str() {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("{path}: \"{other}\" is not one of {}", [$($text),*].join(", "))),
                }
            }
        }

        impl $crate::shell_types::TypeScript for $name {
            fn ts() -> String {
                $ts.to_string()
            }
            fn declare(out: &mut Vec<(String, String)>) {
                let texts: Vec<String> = vec![$(format!("\"{}\"", $text),)*];
                let docs = $crate::shell_types::doc_comment(&[$($doc),*], "");
                $crate::shell_types::add(out, $ts, format!("{docs}export type {} = {};", $ts, texts.join(" | ")));
            }
        }
    };
}
pub(crate) use shell_enum;

/// Objects told apart by their `type`: `shell_union! { pub enum Event as "SidebarEvent" {
/// Start "start" {}, SendClicked "sendClicked" { contract_id: ContractId => "contractId" }, … } }`.
macro_rules! shell_union {
    ($(#[doc = $doc:literal])* pub enum $name:ident as $ts:literal {
        $($(#[doc = $variant_doc:literal])* $variant:ident $tag:literal { $($field:ident: $ty:ty => $key:literal),* $(,)? },)*
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[doc = $variant_doc])* $variant { $($field: $ty),* },)*
        }

        impl $crate::json_output::ToJson for $name {
            fn to_json(&self) -> serde_json::Value {
                match self {
                    $($name::$variant { $($field),* } => $crate::json_output::object([
                        ("type", serde_json::Value::String($tag.to_string())),
                        $(($key, $crate::json_output::ToJson::to_json($field)),)*
                    ]),)*
                }
            }
        }

        impl $crate::shell_types::FromShell for $name {
            fn from_value(value: &serde_json::Value, path: &str) -> Result<Self, String> {
                let map = $crate::shell_types::object(value, path)?;
                let at = if path.is_empty() { String::new() } else { format!("{path}: ") };
                let tag = map
                    .get("type")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| format!("{at}a message needs a type"))?;
                match tag {
                    $($tag => Ok($name::$variant { $($field: $crate::shell_types::field(map, path, $key)?),* }),)*
                    other => Err(format!("{at}unknown message type \"{other}\"")),
                }
            }
        }

        impl $crate::shell_types::TypeScript for $name {
            fn ts() -> String {
                $ts.to_string()
            }
            fn declare(out: &mut Vec<(String, String)>) {
                let variants: Vec<String> = vec![$({
                    let fields: Vec<String> = vec![
                        format!("type: \"{}\";", $tag),
                        $(format!("{}: {};", $key, <$ty as $crate::shell_types::TypeScript>::ts()),)*
                    ];
                    format!("{}  | {{ {} }}\n", $crate::shell_types::doc_comment(&[$($variant_doc),*], "  "), fields.join(" "))
                },)*];
                let docs = $crate::shell_types::doc_comment(&[$($doc),*], "");
                let declaration = format!("{docs}export type {} =\n{};", $ts, variants.concat().trim_end());
                if $crate::shell_types::add(out, $ts, declaration) {
                    $($(<$ty as $crate::shell_types::TypeScript>::declare(out);)*)*
                }
            }
        }
    };
}
pub(crate) use shell_union;
