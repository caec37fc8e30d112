//! A JSON merge patch (RFC 7396) on the preferences document: what the patch leaves out stays, `null`
//! removes, objects merge member by member. Two rules of our own: `method` and `email_notices` cannot
//! be removed (there is always one), and a `method` of another `kind` starts afresh, since the fields
//! of one kind mean nothing to another.

use serde_json::{Map, Value};

/// Fields that always have a value.
const NOT_REMOVABLE: [&str; 2] = ["method", "email_notices"];

/// Applies `patch` to `document`; the name of a field the patch would remove but may not.
pub fn apply(document: &mut Value, patch: &Value) -> Result<(), &'static str> {
    if let Some(fields) = patch.as_object() {
        if let Some(field) = NOT_REMOVABLE.into_iter().find(|field| fields.get(*field).is_some_and(Value::is_null)) {
            return Err(field);
        }
        let kind = |value: &Value| value.get("kind").cloned();
        if let (Some(method), Some(current)) = (fields.get("method"), document.get_mut("method"))
            && kind(method).is_some()
            && kind(method) != kind(current)
        {
            *current = Value::Object(Map::new());
        }
    }
    merge(document, patch);
    Ok(())
}

/// RFC 7396, section 2, as written.
fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(target) = target.as_object_mut() else { return };
    for (name, value) in patch {
        if value.is_null() {
            target.remove(name);
        } else {
            merge(target.entry(name.as_str()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{apply, merge};

    #[test]
    fn the_rfc_examples_hold() {
        // RFC 7396, appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, expected) in cases {
            merge(&mut target, &patch);
            assert_eq!(target, expected, "{patch}");
        }
    }

    #[test]
    fn a_method_of_another_kind_starts_afresh_and_one_of_the_same_kind_merges() {
        let mut document = json!({"method": {"kind": "safe_place", "place": "other", "description": "裏口"}});
        apply(&mut document, &json!({"method": {"kind": "safe_place", "place": "garage"}})).unwrap();
        assert_eq!(document["method"], json!({"kind": "safe_place", "place": "garage", "description": "裏口"}));
        apply(&mut document, &json!({"method": {"kind": "hand_to_recipient"}})).unwrap();
        assert_eq!(document["method"], json!({"kind": "hand_to_recipient"}));
    }

    #[test]
    fn what_always_has_a_value_cannot_be_removed() {
        let mut document = json!({"method": {"kind": "hand_to_recipient"}, "email_notices": true});
        assert_eq!(apply(&mut document, &json!({"method": null})), Err("method"));
        assert_eq!(apply(&mut document, &json!({"email_notices": null})), Err("email_notices"));
        assert_eq!(apply(&mut document, &json!({"instructions": null})), Ok(()));
    }
}
