//! Every value of the wrong type in a JSON body, not only the first.
//!
//! serde stops at the first error. When the body is well-formed JSON, it is walked again as a
//! [`Value`] by a deserializer that, where the Rust type asks for one JSON type and the body has
//! another (a string where a number goes, a number where a list goes, …), notes the error with its
//! path and goes on with a stand-in of the asked type (0, "", false, an empty list or object). The walk
//! ends at the first error a type raises itself: an unknown enum variant, a missing field, a value out
//! of range, a newtype's own check. That error is reported too, unless it is about a value already
//! noted (a stand-in that the type refused). So every wrong type before the first such error is found;
//! what follows it is not, and is reported on the next try. The value built is thrown away.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

type Error = serde_json::Error;

/// The values of the wrong type in `value` for `T`, as (path, message), in the order walked (an
/// object's members in the order of their names); the path is written as serde_path_to_error writes
/// it (`parcels[0].weight_g`).
pub fn find<T: DeserializeOwned>(value: Value) -> Vec<(String, String)> {
    let noted = RefCell::new(Vec::new());
    let walker = Walker { value, path: String::new(), noted: &noted };
    let result: Result<T, _> = serde_path_to_error::deserialize(walker);
    let mut errors = noted.into_inner();
    if let Err(error) = result {
        let path = error.path().to_string();
        let inside_noted = errors.iter().any(|(noted, _): &(String, String)| {
            path == *noted || path.strip_prefix(noted.as_str()).is_some_and(|rest| rest.starts_with(['.', '[']))
        });
        if !inside_noted {
            errors.push((path, error.into_inner().to_string()));
        }
    }
    errors
}

struct Walker<'n> {
    value: Value,
    path: String,
    noted: &'n RefCell<Vec<(String, String)>>,
}

impl Walker<'_> {
    /// Notes that the body has the wrong type here; the caller goes on with a stand-in.
    fn note(&self, expected: &dyn de::Expected) {
        let error: Error = de::Error::invalid_type(unexpected(&self.value), expected);
        let path = if self.path.is_empty() { ".".to_string() } else { self.path.clone() };
        self.noted.borrow_mut().push((path, error.to_string()));
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Walker { value, path, noted } = self;
        match value {
            Value::Array(items) => {
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, value)| Walker { value, path: at(&path, Segment::Index(i)), noted })
                    .collect::<Vec<_>>();
                visitor.visit_seq(Items(items.into_iter()))
            }
            value => {
                Walker { value, path, noted }.note(&visitor);
                visitor.visit_seq(Items(Vec::new().into_iter()))
            }
        }
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Walker { value, path, noted } = self;
        let fields = match value {
            Value::Object(fields) => fields,
            value => {
                Walker { value, path: path.clone(), noted }.note(&visitor);
                Map::new()
            }
        };
        visitor.visit_map(Fields { fields: fields.into_iter(), pending: None, path, noted })
    }
}

fn at(parent: &str, segment: Segment<'_>) -> String {
    match segment {
        Segment::Key(key) if parent.is_empty() => key.to_string(),
        Segment::Key(key) => format!("{parent}.{key}"),
        Segment::Index(index) => format!("{parent}[{index}]"),
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => de::Unexpected::Unsigned(u),
            (_, Some(i), _) => de::Unexpected::Signed(i),
            (_, _, Some(f)) => de::Unexpected::Float(f),
            _ => de::Unexpected::Other("number"),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// Numbers: the visitor judges the range; any other JSON type is noted and stands in as `stand_in`.
macro_rules! number {
    ($($method:ident => $stand_in:ident($zero:expr)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match &self.value {
                Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                    (Some(u), _, _) => visitor.visit_u64(u),
                    (_, Some(i), _) => visitor.visit_i64(i),
                    // Without arbitrary precision, every JSON number is an f64.
                    (_, _, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
                },
                _ => {
                    self.note(&visitor);
                    visitor.$stand_in($zero)
                }
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Walker<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(_) => self.seq(visitor),
            Value::Object(_) => self.map(visitor),
            value => value.deserialize_any(visitor),
        }
    }

    number! {
        deserialize_i8 => visit_i64(0), deserialize_i16 => visit_i64(0), deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0), deserialize_i128 => visit_i64(0),
        deserialize_u8 => visit_u64(0), deserialize_u16 => visit_u64(0), deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0), deserialize_u128 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0), deserialize_f64 => visit_f64(0.0),
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => {
                self.note(&visitor);
                visitor.visit_bool(false)
            }
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_string(s),
            _ => {
                self.note(&visitor);
                visitor.visit_str("")
            }
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if !self.value.is_null() {
            self.note(&visitor);
        }
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    /// Enums are judged by serde_json itself: the variant is the type's own check.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! { bytes byte_buf identifier }
}

struct Items<'n>(std::vec::IntoIter<Walker<'n>>);

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        self.0.next().map(|walker| seed.deserialize(walker)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields<'n> {
    fields: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
    path: String,
    noted: &'n RefCell<Vec<(String, String)>>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.fields.next() else { return Ok(None) };
        let deserializer: de::value::StrDeserializer<'_, Error> = key.as_str().into_deserializer();
        let key_value = seed.deserialize(deserializer)?;
        self.pending = Some((key, value));
        Ok(Some(key_value))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let (key, value) = self.pending.take().ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Walker { value, path: at(&self.path, Segment::Key(&key)), noted: self.noted })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::find;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Order {
        name: String,
        address: Address,
        parcels: Vec<Parcel>,
        note: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        lat: f64,
        lon: f64,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Parcel {
        weight_g: u32,
    }

    fn paths(value: serde_json::Value) -> Vec<String> {
        find::<Order>(value).into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn every_wrong_type_is_found_with_its_path() {
        let body = json!({"name": 7, "address": {"lat": "north", "lon": 139.7},
                          "parcels": [{"weight_g": 100}, {"weight_g": "heavy"}], "note": ["a"]});
        assert_eq!(paths(body), ["address.lat", "name", "note", "parcels[1].weight_g"]);
    }

    #[test]
    fn the_message_says_what_was_found_and_what_goes_there() {
        let found = find::<Order>(json!({"name": "a", "address": {"lat": "north", "lon": 1.0}, "parcels": []}));
        assert_eq!(found, [("address.lat".to_string(), "invalid type: string \"north\", expected f64".to_string())]);
    }

    #[test]
    fn a_missing_field_after_wrong_types_is_reported_too() {
        let body = json!({"name": 7, "parcels": []});
        let found = find::<Order>(body);
        assert_eq!(found[0].0, "name");
        assert_eq!(found[1], (".".to_string(), "missing field `address`".to_string()));
    }

    #[test]
    fn a_value_the_type_refuses_after_a_stand_in_is_not_reported_twice() {
        let body = json!({"name": "a", "address": 5, "parcels": "none"});
        assert_eq!(paths(body), ["address"]);
    }

    #[test]
    fn a_number_out_of_range_ends_the_walk() {
        let body = json!({"name": 1, "address": {"lat": 1.0, "lon": 2.0},
                          "parcels": [{"weight_g": -1}, {"weight_g": "heavy"}]});
        assert_eq!(paths(body), ["name", "parcels[0].weight_g"]);
    }
}
