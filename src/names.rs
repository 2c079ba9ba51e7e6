//! Counterparty name normalisation.
//!
//! A counterparty name is unique within a SpotDraft workspace and signatories must match it exactly
//! (docs/spotdraft-api.md §16.2), so names typed into a CRM are made consistent before they are sent:
//! - whitespace trimmed and collapsed to single spaces, no space before `,` or `.`;
//! - a name typed entirely in lower case is title-cased; any other casing is the owner's choice
//!   and kept (`eBay`, `IBM`, `McKinsey`);
//! - trailing legal suffixes are kept and written one canonical way (`inc` → `Inc.`, `llc` → `LLC`).

/// (comparison form without dots, canonical spelling)
const LEGAL_SUFFIXES: &[(&str, &str)] = &[
    ("inc", "Inc."),
    ("incorporated", "Incorporated"),
    ("corp", "Corp."),
    ("corporation", "Corporation"),
    ("co", "Co."),
    ("llc", "LLC"),
    ("llp", "LLP"),
    ("lp", "LP"),
    ("ltd", "Ltd."),
    ("limited", "Limited"),
    ("plc", "PLC"),
    ("pvt", "Pvt."),
    ("pty", "Pty"),
    ("gmbh", "GmbH"),
    ("ag", "AG"),
    ("kg", "KG"),
    ("sa", "S.A."),
    ("sas", "SAS"),
    ("sarl", "SARL"),
    ("srl", "S.r.l."),
    ("spa", "S.p.A."),
    ("bv", "B.V."),
    ("nv", "N.V."),
    ("ab", "AB"),
    ("oy", "Oy"),
    ("kk", "K.K."),
];

/// Normalises an organisation's legal name.
pub fn organization_name(raw: &str) -> String {
    let spaced = tidy_spacing(raw);
    let cased = if is_all_lowercase(&spaced) { title_case(&spaced) } else { spaced };
    canonical_suffixes(&cased)
}

/// Normalises a person's name part (first or last name).
pub fn person_name(raw: &str) -> String {
    let spaced = tidy_spacing(raw);
    if is_all_lowercase(&spaced) {
        title_case(&spaced)
    } else {
        spaced
    }
}

fn tidy_spacing(raw: &str) -> String {
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.replace(" ,", ",").replace(" .", ".")
}

fn is_all_lowercase(text: &str) -> bool {
    text.chars().any(char::is_lowercase) && !text.chars().any(char::is_uppercase)
}

/// Upper-cases the first letter of every word; word starts follow a space, `-`, `(` or `/`.
fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = matches!(c, ' ' | '-' | '(' | '/');
    }
    out
}

fn suffix_key(word: &str) -> String {
    word.trim_end_matches(',').chars().filter(|c| *c != '.').flat_map(char::to_lowercase).collect()
}

fn canonical_suffix(word: &str) -> Option<&'static str> {
    let key = suffix_key(word);
    LEGAL_SUFFIXES.iter().find(|(k, _)| *k == key).map(|(_, canonical)| *canonical)
}

/// Rewrites the run of legal suffixes at the end of the name; never the first word, so a company
/// actually called "Co" or "AB" keeps its name.
fn canonical_suffixes(name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    let mut first_suffix = words.len();
    while first_suffix > 1 && words.get(first_suffix - 1).is_some_and(|w| canonical_suffix(w).is_some()) {
        first_suffix -= 1;
    }
    let mut out: Vec<String> = words.iter().take(first_suffix).map(|w| (*w).to_string()).collect();
    for word in words.iter().skip(first_suffix) {
        let comma = if word.ends_with(',') { "," } else { "" };
        out.push(format!("{}{comma}", canonical_suffix(word).unwrap_or(word)));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_names() {
        let cases = [
            ("  acme   widgets , inc ", "Acme Widgets, Inc."),
            ("Acme Widgets, INC.", "Acme Widgets, Inc."),
            ("ACME WIDGETS LLC", "ACME WIDGETS LLC"),
            ("globex pvt ltd", "Globex Pvt. Ltd."),
            ("eBay Inc", "eBay Inc."),
            ("Müller gmbh", "Müller GmbH"),
            ("initech s.a.", "Initech S.A."),
            ("Co", "Co"),
            ("Acme\tCorp\n", "Acme Corp."),
            ("o'brien-smith holdings", "O'brien-Smith Holdings"),
            ("IBM", "IBM"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(organization_name(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for raw in ["  acme   widgets , inc ", "globex pvt ltd", "Initech S.A.", "van der berg bv"] {
            let once = organization_name(raw);
            assert_eq!(organization_name(&once), once);
        }
    }

    #[test]
    fn person_names() {
        assert_eq!(person_name("  avery  "), "Avery");
        assert_eq!(person_name("mary-jane"), "Mary-Jane");
        assert_eq!(person_name("McDonald"), "McDonald");
        assert_eq!(person_name("de la  Cruz"), "de la Cruz");
    }
}
