use serde_json::{json, Value};

use super::golden_json;
use crate::translate::gemini::parameters_schema;

/// Every key Gemini's `Schema` knows; anything else in `parameters` is a 400.
/// Kept apart from the production list on purpose: changing that list is a deliberate two-place edit.
const GEMINI_SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

fn assert_only_gemini_keys(schema: &Value, path: &str) {
    let Value::Object(map) = schema else { return };
    for (key, value) in map {
        assert!(
            GEMINI_SCHEMA_KEYS.contains(&key.as_str()),
            "{path}.{key} is not accepted by Gemini"
        );
        match key.as_str() {
            "properties" => {
                for (name, sub) in value.as_object().into_iter().flatten() {
                    assert_only_gemini_keys(sub, &format!("{path}.properties.{name}"));
                }
            }
            "items" => assert_only_gemini_keys(value, &format!("{path}.items")),
            "anyOf" => {
                for (i, sub) in value.as_array().into_iter().flatten().enumerate() {
                    assert_only_gemini_keys(sub, &format!("{path}.anyOf[{i}]"));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn json_schema_is_cleaned_for_the_parameters_field() {
    let cleaned = parameters_schema(&golden_json("schema_json.json"));
    assert_eq!(cleaned, golden_json("schema_parameters.json"));
    assert_only_gemini_keys(&cleaned, "$");
}

#[test]
fn a_property_named_like_a_keyword_is_kept() {
    // Property names are data, not keywords: `properties.properties` and `properties.$ref` stay.
    let schema = json!({
        "type": "object",
        "properties": {
            "properties": {"type": "object", "additionalProperties": true},
            "$ref": {"type": "string"}
        },
        "required": ["properties", "$ref"]
    });
    assert_eq!(
        parameters_schema(&schema),
        json!({
            "type": "object",
            "properties": {"properties": {"type": "object"}, "$ref": {"type": "string"}},
            "required": ["properties", "$ref"]
        })
    );
}

#[test]
fn recursive_references_stop() {
    let schema = json!({
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node"
    });
    let cleaned = parameters_schema(&schema);
    // Followed a bounded number of levels, then cut off with a plain object.
    let mut depth = 0;
    let mut node = &cleaned;
    while let Some(next) = node.get("properties").and_then(|p| p.get("next")) {
        depth += 1;
        node = next;
    }
    assert!((1..=10).contains(&depth), "{depth}");
    assert_eq!(node, &json!({"type": "object"}));
    assert_only_gemini_keys(&cleaned, "$");
}
