//! Schema dialects. Gemini's `parameters` / `responseSchema` take an OpenAPI 3.0 subset (types may be
//! upper case, `nullable` instead of `"null"` types) and reject unknown keywords with a 400; every other
//! format, and Gemini's own `parametersJsonSchema` / `responseJsonSchema`, take JSON Schema.

use serde_json::{Map, Value};

/// Keys whose value is one schema.
const SCHEMA_KEYS: &[&str] = &["items", "additionalProperties", "not"];
/// Keys whose value is an array of schemas.
const SCHEMA_LIST_KEYS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keys whose value maps names to schemas.
const SCHEMA_MAP_KEYS: &[&str] = &["properties", "$defs", "definitions"];

/// An OpenAPI-subset schema (what Gemini clients put in `parameters`) as standard JSON Schema: lower-case
/// types, `nullable` folded into the type, Gemini-only hints dropped.
pub(super) fn openapi_to_json_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(map.len());
    let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
    for (key, value) in map {
        match key.as_str() {
            "nullable" | "propertyOrdering" => {}
            "type" => {
                let Some(t) = value.as_str() else {
                    out.insert(key.clone(), value.clone());
                    continue;
                };
                let t = t.to_ascii_lowercase();
                if t == "type_unspecified" {
                    continue;
                }
                let t = Value::String(t);
                out.insert(
                    key.clone(),
                    if nullable {
                        Value::Array(vec![t, Value::String("null".into())])
                    } else {
                        t
                    },
                );
            }
            // `format: enum` only tells Gemini that `enum` is set.
            "format" if value.as_str() == Some("enum") => {}
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(key.clone(), openapi_to_json_schema(value));
            }
            k if SCHEMA_LIST_KEYS.contains(&k) => {
                out.insert(key.clone(), map_list(value, openapi_to_json_schema));
            }
            k if SCHEMA_MAP_KEYS.contains(&k) => {
                out.insert(key.clone(), map_values(value, openapi_to_json_schema));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn map_list(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(f).collect()),
        other => other.clone(),
    }
}

fn map_values(value: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(entries) => {
            Value::Object(entries.iter().map(|(k, v)| (k.clone(), f(v))).collect())
        }
        other => other.clone(),
    }
}

/// What Gemini's `Schema` (the `parameters` field) accepts; anything else is rejected with a 400.
const ALLOWED: &[&str] = &[
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

/// Formats `Schema` accepts; others (`uri`, `email`, …) are rejected.
const FORMATS: &[&str] = &["enum", "date-time", "int32", "int64", "float", "double"];

/// How deep `$ref`s are followed before a recursive schema is cut off with a plain object.
const MAX_REF_DEPTH: usize = 8;

/// Converts a JSON Schema into the OpenAPI subset Gemini's `parameters` field accepts: `$ref`s inlined
/// from `$defs`/`definitions`, `const` → `enum`, `oneOf` → `anyOf`, `allOf` merged, type lists → `type` +
/// `nullable`, `exclusiveMinimum`/`exclusiveMaximum` → `minimum`/`maximum`, `required` limited to declared
/// properties, and every other keyword (`$schema`, `additionalProperties`, `propertyNames`, …) removed.
/// For upstreams that only know `parameters` (Gemini Code Assist); the Gemini API itself takes full JSON
/// Schema in `parametersJsonSchema`.
pub fn parameters_schema(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    clean(schema, &defs, 0)
}

fn collect_defs(root: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(d)) = root.get(key) {
            for (name, schema) in d {
                defs.insert(format!("#/{key}/{name}"), schema.clone());
            }
        }
    }
    defs
}

fn clean(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(map) = schema else {
        // `true` / `{}`-like schemas: anything goes.
        return Value::Object(Map::new());
    };
    if let Some(Value::String(reference)) = map.get("$ref") {
        return match defs.get(reference) {
            Some(target) if depth < MAX_REF_DEPTH => {
                let mut resolved = clean(target, defs, depth + 1);
                // Sibling keywords of a `$ref` (often a description) still apply.
                if let (Value::Object(r), Some(Value::String(d))) =
                    (&mut resolved, map.get("description"))
                {
                    r.insert("description".into(), Value::String(d.clone()));
                }
                resolved
            }
            _ => serde_json::json!({"type": "object"}),
        };
    }

    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let mut concrete: Vec<&str> = types
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|t| *t != "null")
                        .collect();
                    if concrete.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    match concrete.len() {
                        0 => {}
                        1 => {
                            out.insert("type".into(), Value::String(concrete[0].to_string()));
                        }
                        _ => {
                            concrete.dedup();
                            let any: Vec<Value> = concrete
                                .iter()
                                .map(|t| serde_json::json!({ "type": t }))
                                .collect();
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                Value::String(t) if t == "null" => {
                    out.insert("nullable".into(), Value::Bool(true));
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "const" => {
                if let Value::String(s) = value {
                    out.insert("enum".into(), Value::Array(vec![Value::String(s.clone())]));
                    out.entry("type")
                        .or_insert_with(|| Value::String("string".into()));
                }
            }
            // Gemini's enum holds strings only.
            "enum" => {
                if let Value::Array(values) = value {
                    if values.iter().all(Value::is_string) {
                        out.insert("enum".into(), value.clone());
                    }
                }
            }
            "format" if value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert("format".into(), value.clone());
            }
            "format" => {}
            "exclusiveMinimum" if value.is_number() => {
                out.entry("minimum").or_insert_with(|| value.clone());
            }
            "exclusiveMaximum" if value.is_number() => {
                out.entry("maximum").or_insert_with(|| value.clone());
            }
            "properties" => {
                if let Value::Object(props) = value {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), clean(s, defs, depth)))
                        .collect();
                    if !cleaned.is_empty() {
                        merge_into(&mut out, serde_json::json!({ "properties": cleaned }));
                    }
                }
            }
            "items" => {
                out.insert("items".into(), clean(value, defs, depth));
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(options) = value {
                    let cleaned: Vec<Value> =
                        options.iter().map(|s| clean(s, defs, depth)).collect();
                    out.insert("anyOf".into(), Value::Array(cleaned));
                }
            }
            "allOf" => {
                if let Value::Array(all) = value {
                    for part in all {
                        merge_into(&mut out, clean(part, defs, depth));
                    }
                }
            }
            "required" => merge_into(&mut out, serde_json::json!({ "required": value })),
            k if ALLOWED.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    // `required` may only name declared properties.
    if let Some(Value::Array(required)) = out.get("required") {
        let declared = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|name| declared.is_some_and(|p| p.contains_key(name)))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}

/// Folds one `allOf` member into the schema: properties and required lists are united, other keys kept
/// where the schema has none.
fn merge_into(out: &mut Map<String, Value>, part: Value) {
    let Value::Object(part) = part else { return };
    for (key, value) in part {
        match (key.as_str(), out.get_mut(&key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                mine.extend(theirs);
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for r in theirs {
                    if !mine.contains(&r) {
                        mine.push(r);
                    }
                }
            }
            (_, None, value) => {
                out.insert(key, value);
            }
            _ => {}
        }
    }
}
