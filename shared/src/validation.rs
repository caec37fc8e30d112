//! Field-level validation errors, collected so that a client learns everything wrong at once.

use serde::Serialize;

/// One thing wrong with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Where in the input, as a path like `recipient.email` or `parcels[0].barcode`.
    pub field: String,
    /// A stable code, such as `required`, `too_long` or `invalid_format`.
    pub code: &'static str,
    /// What is wrong and how to fix it, in plain words.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> ValidationErrors {
        ValidationErrors::default()
    }

    pub fn single(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> ValidationErrors {
        let mut errors = ValidationErrors::new();
        errors.add(field, code, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), code, message: message.into() });
    }

    /// Keeps the value of a check that passed, or records why it failed.
    pub fn check<T>(&mut self, field: &str, result: Check<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err((code, message)) => {
                self.add(field, code, message);
                None
            }
        }
    }

    pub fn extend(&mut self, more: ValidationErrors) {
        self.0.extend(more.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The outcome of checking one field: the parsed value, or a code and a message.
pub type Check<T> = Result<T, (&'static str, String)>;

/// Trims text and checks it is present, within `max` characters and free of control characters.
pub fn text(value: &str, max: usize) -> Check<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(("required", "must not be empty".into()));
    }
    if value.chars().count() > max {
        return Err(("too_long", format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(("invalid_characters", "must not contain control characters such as line breaks".into()));
    }
    Ok(value.to_string())
}

/// Like [`text`], but an absent or blank value is `None`.
pub fn optional_text(value: Option<&str>, max: usize) -> Check<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => text(v, max).map(Some),
    }
}
