//! Every text a person reads — customers on the page and in emails, drivers in the app, staff — comes
//! from one message catalogue per language, written in Project Fluent (`shared/locales/<code>.ftl`) and
//! embedded in the binaries, so nothing is read from disk at run time.
//!
//! One entry point: [`Catalogue::text`] for a message without placeables, [`Catalogue::format`] for one
//! with arguments (plurals are Fluent selectors in the files), and [`Catalogue::date`],
//! [`Catalogue::date_time`] and [`Catalogue::window`] for dates and times, whose shapes (`2026年11月24日(火)`,
//! `Tue 24 Nov 2026`) are messages of the catalogue too.
//!
//! To add a language: add its file under `shared/locales/`, its variant to [`Language`] and its arm to
//! [`source`]; the tests then hold its keys and placeables to the others'.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::Language;

/// An argument of a message: text or a number (numbers select plural variants).
pub use fluent_bundle::FluentValue as Arg;

/// The Fluent source of a language, embedded. Exhaustive: a new [`Language`] does not build without its file.
fn source(lang: Language) -> &'static str {
    match lang {
        Language::Ja => include_str!("../locales/ja.ftl"),
        Language::En => include_str!("../locales/en.ftl"),
    }
}

/// The message catalogues of every language, loaded once from the embedded files.
pub struct Catalogue {
    languages: Vec<Loaded>,
}

struct Loaded {
    lang: Language,
    bundle: FluentBundle<FluentResource>,
    /// Messages without placeables, formatted once: most of a page's words.
    fixed: HashMap<String, String>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::load);

/// How a date is written; each style is a message `date-<style>` (and `window-<style>`) in every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// With the weekday and the year: `2026年11月24日(火)`, `Tue 24 Nov 2026`.
    Long,
    /// In emails: `2026年11月24日`, `24 Nov 2026`.
    Mail,
    /// Day and month: `11月24日`, `24 Nov`.
    Short,
    /// Digits only: `11/24`.
    Numeric,
}

impl DateStyle {
    fn key(self) -> &'static str {
        match self {
            DateStyle::Long => "long",
            DateStyle::Mail => "mail",
            DateStyle::Short => "short",
            DateStyle::Numeric => "numeric",
        }
    }
}

impl Catalogue {
    fn load() -> Catalogue {
        let languages = Language::ALL
            .into_iter()
            .map(|lang| {
                let resource = FluentResource::try_new(source(lang).to_string())
                    .unwrap_or_else(|(_, errors)| panic!("{}.ftl does not parse: {errors:?}", lang.code()));
                let locale = lang.code().parse().unwrap_or_else(|_| panic!("{} is no language tag", lang.code()));
                let mut bundle = FluentBundle::new_concurrent(vec![locale]);
                // Isolation marks (FSI/PDI) around placeables would show up in emails and pages.
                bundle.set_use_isolating(false);
                let ids: Vec<String> = resource
                    .entries()
                    .filter_map(|entry| match entry {
                        fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_string()),
                        _ => None,
                    })
                    .collect();
                bundle
                    .add_resource(resource)
                    .unwrap_or_else(|errors| panic!("{}.ftl has duplicate keys: {errors:?}", lang.code()));
                let fixed = ids
                    .into_iter()
                    .filter_map(|id| {
                        let pattern = bundle.get_message(&id)?.value()?;
                        let mut errors = Vec::new();
                        let text = bundle.format_pattern(pattern, None, &mut errors).into_owned();
                        errors.is_empty().then_some((id, text))
                    })
                    .collect();
                Loaded { lang, bundle, fixed }
            })
            .collect();
        Catalogue { languages }
    }

    fn get() -> &'static Catalogue {
        &CATALOGUE
    }

    fn of(&self, lang: Language) -> &Loaded {
        // Every language of `Language::ALL` is loaded.
        self.languages.iter().find(|loaded| loaded.lang == lang).unwrap_or(&self.languages[0])
    }

    /// A message without placeables. A key missing from the catalogue is a bug that the catalogue tests
    /// catch; it reads as empty rather than failing a customer's page.
    pub fn text(lang: Language, key: &str) -> &'static str {
        match Catalogue::get().of(lang).fixed.get(key) {
            Some(text) => text,
            None => {
                debug_assert!(false, "no message {key} without arguments in {}.ftl", lang.code());
                ""
            }
        }
    }

    /// A message with its arguments, such as `("n", Arg::from(3))`.
    pub fn format(lang: Language, key: &str, args: &[(&str, Arg)]) -> String {
        let loaded = Catalogue::get().of(lang);
        let Some(pattern) = loaded.bundle.get_message(key).and_then(|message| message.value()) else {
            debug_assert!(false, "no message {key} in {}.ftl", lang.code());
            return String::new();
        };
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = loaded.bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned();
        debug_assert!(errors.is_empty(), "{key} in {}.ftl: {errors:?}", lang.code());
        text
    }

    /// Whether the catalogue has `key` (for texts looked up by a code that may have none).
    pub fn has(lang: Language, key: &str) -> bool {
        Catalogue::get().of(lang).bundle.has_message(key)
    }

    /// A date in the language's `date-<style>` shape.
    pub fn date(lang: Language, style: DateStyle, date: NaiveDate) -> String {
        let weekday = Catalogue::text(lang, &format!("weekday-{}", date.weekday().number_from_monday()));
        let month_name = Catalogue::text(lang, &format!("month-{}", date.month()));
        Catalogue::format(
            lang,
            &format!("date-{}", style.key()),
            &[
                ("year", date.year().to_string().into()),
                ("month", date.month().to_string().into()),
                ("month2", format!("{:02}", date.month()).into()),
                ("day", date.day().to_string().into()),
                ("day2", format!("{:02}", date.day()).into()),
                ("weekday", weekday.into()),
                ("monthName", month_name.into()),
            ],
        )
    }

    /// A date in the `date-<style>` shape with the time of day (`date-time`).
    pub fn date_time(lang: Language, style: DateStyle, at: NaiveDateTime) -> String {
        let date = Catalogue::date(lang, style, at.date());
        Catalogue::format(lang, "date-time", &[("date", date.into()), ("time", at.format("%H:%M").to_string().into())])
    }

    /// A delivery window on a date, from `start` to `end` (`HH:MM`), in the `window-<style>` shape.
    pub fn window(lang: Language, style: DateStyle, date: NaiveDate, start: &str, end: &str) -> String {
        let date = Catalogue::date(lang, style, date);
        Catalogue::format(
            lang,
            &format!("window-{}", style.key()),
            &[("date", date.into()), ("start", start.to_string().into()), ("end", end.to_string().into())],
        )
    }
}

/// The catalogue of one language, for templates: `{{ t.get("page-title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Texts(pub Language);

impl Texts {
    pub fn get(&self, key: &str) -> &'static str {
        Catalogue::text(self.0, key)
    }
}

#[cfg(test)]
mod tests;
