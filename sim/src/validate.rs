//! Request-body checks of sf-api.md 7.5 for the order operations.
//!
//! Strict on purpose: the simulator exists to catch client mistakes (snake_case keys, wrong types,
//! oversized batches) before they reach the real API.

use serde_json::{Map, Value};

use crate::wire::Operation;

/// One order of an operation request, after validation.
#[derive(Debug, Clone)]
pub struct OrderRef {
    pub id: Option<i64>,
    pub reference: Option<String>,
    pub channel_name: Option<String>,
    /// The submitted fields other than the identifier, echoed in the ticket payload.
    pub fields: Map<String, Value>,
}

/// One validation failure: `path` is like `order[2].trackingNumber`.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

/// Validates a parsed body `{"order": [...]}` for `op`; `max_orders` is the per-request cap.
pub fn validate_operation(
    op: Operation,
    body: &Value,
    max_orders: usize,
) -> Result<Vec<OrderRef>, Vec<Violation>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![Violation::new(
            "",
            "notObject",
            "The body must be a JSON object",
        )]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if key != "order" {
            errors.push(Violation::new(
                key.clone(),
                "unknownKey",
                format!("Unknown key '{key}'"),
            ));
        }
    }
    let orders = match obj.get("order") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            errors.push(Violation::new(
                "order",
                "notArray",
                "'order' must be an array",
            ));
            return Err(errors);
        }
        None => {
            errors.push(Violation::new(
                "order",
                "isEmpty",
                "Value is required and can't be empty",
            ));
            return Err(errors);
        }
    };
    if orders.is_empty() {
        errors.push(Violation::new(
            "order",
            "isEmpty",
            "Value is required and can't be empty",
        ));
    }
    if orders.len() > max_orders {
        errors.push(Violation::new(
            "order",
            "tooMany",
            format!(
                "At most {max_orders} orders per request, got {}",
                orders.len()
            ),
        ));
    }
    let mut refs = Vec::with_capacity(orders.len());
    for (i, item) in orders.iter().enumerate() {
        let path = format!("order[{i}]");
        match check_item(op, item, &path, &mut errors) {
            Some(r) => refs.push(r),
            None => continue,
        }
    }
    if errors.is_empty() {
        Ok(refs)
    } else {
        Err(errors)
    }
}

fn check_item(
    op: Operation,
    item: &Value,
    path: &str,
    errors: &mut Vec<Violation>,
) -> Option<OrderRef> {
    let Some(obj) = item.as_object() else {
        errors.push(Violation::new(
            path,
            "notObject",
            "Each order must be an object",
        ));
        return None;
    };
    let before = errors.len();
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(n),
            None => {
                errors.push(Violation::new(
                    format!("{path}.id"),
                    "notInt",
                    "'id' must be an integer",
                ));
                None
            }
        },
    };
    let reference = opt_string(obj, "reference", path, errors);
    let channel_name = opt_string(obj, "channelName", path, errors);
    let has_pair = reference.as_deref().is_some_and(|s| !s.is_empty())
        && channel_name.as_deref().is_some_and(|s| !s.is_empty());
    if id.is_none() && !has_pair && errors.len() == before {
        errors.push(Violation::new(
            path,
            "noIdentifier",
            "Each order needs an integer 'id', or both 'reference' and 'channelName'",
        ));
    }
    let mut fields = Map::new();
    for (key, value) in obj {
        if matches!(key.as_str(), "id" | "reference" | "channelName") {
            continue;
        }
        let p = format!("{path}.{key}");
        check_field(op, key, value, &p, errors);
        fields.insert(key.clone(), value.clone());
    }
    if errors.len() != before {
        return None;
    }
    Some(OrderRef {
        id,
        reference,
        channel_name,
        fields,
    })
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<Violation>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(Violation::new(
                format!("{path}.{key}"),
                "notString",
                format!("'{key}' must be a string"),
            ));
            None
        }
    }
}

fn snake_or_unknown(key: &str, path: &str, errors: &mut Vec<Violation>) {
    if key.contains('_') {
        errors.push(Violation::new(
            path,
            "snakeCase",
            format!("Unknown key '{key}': keys are camelCase"),
        ));
    } else {
        errors.push(Violation::new(
            path,
            "unknownKey",
            format!("Unknown key '{key}'"),
        ));
    }
}

fn check_field(op: Operation, key: &str, v: &Value, path: &str, errors: &mut Vec<Violation>) {
    use Operation as O;
    match (op, key) {
        (O::Ship, "carrier" | "trackingNumber" | "trackingLink") => expect(
            v.is_string() || v.is_null(),
            path,
            "notString",
            "a string",
            errors,
        ),
        (O::Ship, "warehouseId") => expect(
            v.is_string() || v.is_i64() || v.is_null(),
            path,
            "invalidType",
            "a string, an integer or null",
            errors,
        ),
        (O::Ship, "items") => {
            check_list(v, path, errors, |item, p, errors| {
                check_object(
                    item,
                    p,
                    errors,
                    &[("id", Kind::Int), ("quantity", Kind::Int)],
                )
            });
        }
        (O::Ship, "returnInfo") => {
            if !v.is_null() {
                check_object(
                    v,
                    path,
                    errors,
                    &[
                        ("carrier", Kind::StrOrNull),
                        ("trackingNumber", Kind::StrOrNull),
                    ],
                );
            }
        }
        (O::Cancel | O::Accept | O::Refuse, "reason") => {
            expect(v.is_string(), path, "notString", "a string", errors)
        }
        (O::Refund, "refund") => {
            check_refund(v, path, errors);
        }
        (O::Acknowledge, "status") => expect(
            matches!(v.as_str(), Some("success" | "error")),
            path,
            "notInArray",
            "'success' or 'error'",
            errors,
        ),
        (O::Acknowledge, "storeReference" | "message") => expect(
            v.is_string() || v.is_null(),
            path,
            "notString",
            "a string",
            errors,
        ),
        (O::Acknowledge, "acknowledgedAt") => expect(
            v.as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
            path,
            "invalidDate",
            "an ISO 8601 date with offset",
            errors,
        ),
        (O::UploadDocuments, "documents") => {
            check_list(v, path, errors, |item, p, errors| {
                check_object(item, p, errors, &[("type", Kind::Invoice)])
            });
        }
        _ => snake_or_unknown(key, path, errors),
    }
}

fn expect(cond: bool, path: &str, code: &'static str, what: &str, errors: &mut Vec<Violation>) {
    if !cond {
        errors.push(Violation::new(path, code, format!("Must be {what}")));
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Str,
    StrOrNull,
    Invoice,
}

/// Checks an object against its allowed keys; every listed key is required unless `StrOrNull`.
fn check_object(v: &Value, path: &str, errors: &mut Vec<Violation>, keys: &[(&str, Kind)]) {
    let Some(obj) = v.as_object() else {
        errors.push(Violation::new(path, "notObject", "Must be an object"));
        return;
    };
    for (key, value) in obj {
        let p = format!("{path}.{key}");
        match keys.iter().find(|(k, _)| k == key) {
            None => snake_or_unknown(key, &p, errors),
            Some((_, kind)) => {
                let (ok, what) = match kind {
                    Kind::Int => (value.is_i64(), "an integer"),
                    Kind::Str => (value.is_string(), "a string"),
                    Kind::StrOrNull => (value.is_string() || value.is_null(), "a string or null"),
                    Kind::Invoice => (value.as_str() == Some("invoice"), "'invoice'"),
                };
                expect(ok, &p, "invalidType", what, errors);
            }
        }
    }
    for (key, kind) in keys {
        if !matches!(kind, Kind::StrOrNull) && !obj.contains_key(*key) {
            errors.push(Violation::new(
                format!("{path}.{key}"),
                "isEmpty",
                "Value is required and can't be empty",
            ));
        }
    }
}

fn check_list(
    v: &Value,
    path: &str,
    errors: &mut Vec<Violation>,
    each: impl Fn(&Value, &str, &mut Vec<Violation>),
) {
    let Some(items) = v.as_array() else {
        errors.push(Violation::new(path, "notArray", "Must be an array"));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        each(item, &format!("{path}[{i}]"), errors);
    }
}

fn check_refund(v: &Value, path: &str, errors: &mut Vec<Violation>) {
    let Some(obj) = v.as_object() else {
        errors.push(Violation::new(path, "notObject", "Must be an object"));
        return;
    };
    for (key, value) in obj {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "shipping" => {
                expect(value.is_boolean(), &p, "invalidType", "a boolean", errors);
            }
            "products" => check_list(value, &p, errors, |item, p, errors| {
                check_object(
                    item,
                    p,
                    errors,
                    &[("reference", Kind::Str), ("quantity", Kind::Int)],
                )
            }),
            _ => snake_or_unknown(key, &p, errors),
        }
    }
}

/// Renders violations as the `validationMessages` list of a 400 problem (sf-api.md 4.2).
pub fn validation_messages(violations: &[Violation]) -> Value {
    Value::Array(
        violations
            .iter()
            .map(|v| {
                let mut inner = Map::new();
                inner.insert(v.code.to_string(), Value::String(v.message.clone()));
                let mut outer = Map::new();
                outer.insert(v.path.clone(), Value::Object(inner));
                Value::Object(outer)
            })
            .collect(),
    )
}
