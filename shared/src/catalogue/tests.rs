use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

use super::*;
use crate::preferences::{DeliveryMethod, Proof, SafePlace};
use crate::{ReasonCode, ShipmentStatus};

/// Every message of a file with the variables its value and attributes use.
fn messages(lang: Language) -> BTreeMap<String, BTreeSet<String>> {
    let resource = fluent_syntax::parser::parse(source(lang))
        .unwrap_or_else(|(_, errors)| panic!("{}.ftl does not parse: {errors:?}", lang.code()));
    let mut messages = BTreeMap::new();
    for entry in resource.body {
        match entry {
            Entry::Message(message) => {
                let mut variables = BTreeSet::new();
                if let Some(value) = &message.value {
                    pattern_variables(value, &mut variables);
                }
                for attribute in &message.attributes {
                    pattern_variables(&attribute.value, &mut variables);
                }
                let id = message.id.name.to_string();
                assert!(messages.insert(id.clone(), variables).is_none(), "{id} twice in {}.ftl", lang.code());
            }
            Entry::Junk { content } => panic!("{}.ftl cannot read: {content}", lang.code()),
            _ => {}
        }
    }
    messages
}

fn pattern_variables(pattern: &Pattern<&str>, into: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_variables(expression, into);
        }
    }
}

fn expression_variables(expression: &Expression<&str>, into: &mut BTreeSet<String>) {
    match expression {
        Expression::Inline(inline) => inline_variables(inline, into),
        Expression::Select { selector, variants } => {
            inline_variables(selector, into);
            for variant in variants {
                pattern_variables(&variant.value, into);
            }
        }
    }
}

fn inline_variables(inline: &InlineExpression<&str>, into: &mut BTreeSet<String>) {
    match inline {
        InlineExpression::VariableReference { id } => {
            into.insert(id.name.to_string());
        }
        InlineExpression::Placeable { expression } => expression_variables(expression, into),
        InlineExpression::FunctionReference { arguments, .. } => {
            for argument in &arguments.positional {
                inline_variables(argument, into);
            }
            for argument in &arguments.named {
                inline_variables(&argument.value, into);
            }
        }
        _ => {}
    }
}

/// The messages that shape a date, and the parts `Catalogue::date` gives them.
const DATE_SHAPES: [&str; 4] = ["date-long", "date-mail", "date-short", "date-numeric"];
const DATE_PARTS: [&str; 7] = ["year", "month", "month2", "day", "day2", "weekday", "monthName"];

#[test]
fn every_language_has_every_key_with_the_same_placeables() {
    let (first, others) = Language::ALL.split_first().unwrap();
    let reference = messages(*first);
    assert!(!reference.is_empty());
    for lang in others {
        let theirs = messages(*lang);
        let missing: Vec<_> = reference.keys().filter(|key| !theirs.contains_key(*key)).collect();
        let extra: Vec<_> = theirs.keys().filter(|key| !reference.contains_key(*key)).collect();
        assert!(missing.is_empty(), "{}.ftl lacks {missing:?}", lang.code());
        assert!(extra.is_empty(), "{}.ftl has {extra:?}, which {}.ftl lacks", lang.code(), first.code());
        for (key, variables) in &reference {
            if DATE_SHAPES.contains(&key.as_str()) {
                // A date's shape takes the parts its language writes, from the same set.
                for variables in [variables, &theirs[key]] {
                    assert!(variables.iter().all(|v| DATE_PARTS.contains(&v.as_str())), "{key}: {variables:?}");
                }
                continue;
            }
            assert_eq!(
                &theirs[key],
                variables,
                "{key}: the placeables of {}.ftl and {}.ftl differ",
                first.code(),
                lang.code()
            );
        }
    }
}

#[test]
fn the_check_sees_a_missing_placeable() {
    let mut variables = BTreeSet::new();
    let resource = fluent_syntax::parser::parse("a = { $n -> \n [one] one\n *[other] { $n } { $unit }\n}\n").unwrap();
    let Entry::Message(message) = &resource.body[0] else { panic!() };
    pattern_variables(message.value.as_ref().unwrap(), &mut variables);
    assert_eq!(variables, BTreeSet::from(["n".to_string(), "unit".to_string()]));
}

#[test]
fn every_label_of_the_shared_types_is_in_every_language() {
    for lang in Language::ALL {
        for status in ShipmentStatus::ALL {
            assert!(!status.label(lang).is_empty(), "{status:?}");
        }
        for reason in ReasonCode::ALL {
            assert!(!reason.label(lang).is_empty(), "{reason:?}");
        }
        for place in SafePlace::ALL {
            assert!(!place.label(lang).is_empty(), "{place:?}");
        }
        for proof in Proof::ALL {
            assert!(!proof.label(lang).is_empty(), "{proof:?}");
        }
        for month in 1..=12 {
            assert!(Catalogue::has(lang, &format!("month-{month}")));
        }
        for day in 1..=7 {
            assert!(Catalogue::has(lang, &format!("weekday-{day}")));
        }
        assert!(!DeliveryMethod::HandToRecipient.label(lang).is_empty());
    }
}

#[test]
fn dates_and_windows_per_language() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
    let at = day.and_hms_opt(9, 5, 0).unwrap();
    use DateStyle::*;
    assert_eq!(Catalogue::date(Language::Ja, Long, day), "2026年11月5日(木)");
    assert_eq!(Catalogue::date(Language::En, Long, day), "Thu 5 Nov 2026");
    assert_eq!(Catalogue::date_time(Language::Ja, Mail, at), "2026年11月05日 09:05");
    assert_eq!(Catalogue::date_time(Language::En, Mail, at), "5 Nov 2026 09:05");
    assert_eq!(Catalogue::date_time(Language::Ja, Short, at), "11月5日 09:05");
    assert_eq!(Catalogue::date_time(Language::En, Short, at), "5 Nov 09:05");
    assert_eq!(Catalogue::window(Language::Ja, Mail, day, "14:00", "16:00"), "2026年11月05日 14:00〜16:00");
    assert_eq!(Catalogue::window(Language::En, Mail, day, "14:00", "16:00"), "5 Nov 2026 14:00–16:00");
    assert_eq!(Catalogue::window(Language::Ja, Long, day, "14:00", "16:00"), "2026年11月5日(木) 14:00–16:00");
    assert_eq!(Catalogue::window(Language::En, Numeric, day, "14:00", "16:00"), "11/05 14:00–16:00");
}

#[test]
fn plurals_and_no_isolation_marks() {
    let stops = |lang, n: i64| Catalogue::format(lang, "arrival-stops-before", &[("n", n.into())]);
    assert_eq!(stops(Language::En, 0), "Yours is the next stop");
    assert_eq!(stops(Language::En, 1), "1 stop before yours");
    assert_eq!(stops(Language::En, 4), "4 stops before yours");
    assert_eq!(stops(Language::Ja, 0), "次があなたのお届け先です");
    assert_eq!(stops(Language::Ja, 1), "あなたのお届けまであと1件");
    let dear = Catalogue::format(Language::En, "mail-dear", &[("name", "Hanako".into())]);
    assert_eq!(dear, "Dear Hanako,");
}
