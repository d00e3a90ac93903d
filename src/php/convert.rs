//! Small conversions between PHP values and the core's types.

use crate::php::exceptions::{throwable, Kind};
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::Zval;

/// An order/shop id from PHP: 1..=4294967295 (INT(10) UNSIGNED), else our InvalidArgumentException.
pub fn id_arg(name: &str, value: i64) -> Result<u32, PhpException> {
    u32::try_from(value).ok().filter(|v| *v > 0).ok_or_else(|| {
        throwable(
            Kind::InvalidArgument,
            format!("{name} must be an integer between 1 and 4294967295, {value} given"),
        )
    })
}

/// An id read from a conveyor value: an int or a numeric string, as PHP code puts them there.
pub fn id_from_zval(value: Option<&Zval>) -> Option<u32> {
    let zv = value?;
    let n = if zv.is_long() {
        zv.long()?
    } else if zv.is_string() {
        zv.string()?.trim().parse::<i64>().ok()?
    } else {
        return None;
    };
    u32::try_from(n).ok().filter(|v| *v > 0)
}

/// A string from a conveyor value (empty when missing or not a string).
pub fn string_from_zval(value: Option<&Zval>) -> String {
    value
        .filter(|z| z.is_string())
        .and_then(Zval::string)
        .unwrap_or_default()
}

/// PHP truthiness of a return value (false, null, 0, 0.0, "", "0" and [] are false).
pub fn truthy(zv: &Zval) -> bool {
    if zv.is_null() {
        false
    } else if zv.is_bool() {
        zv.bool().unwrap_or(false)
    } else if zv.is_long() {
        zv.long().unwrap_or(0) != 0
    } else if zv.is_double() {
        zv.double().unwrap_or(0.0) != 0.0
    } else if zv.is_string() {
        let s = zv.string().unwrap_or_default();
        !(s.is_empty() || s == "0")
    } else if let Some(a) = zv.array() {
        !a.is_empty()
    } else {
        true
    }
}
