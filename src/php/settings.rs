//! The process's settings: php.ini `shoppingfeed_sync.*` first, then `OrderSync::configure()`.
//! The mailer callable is request-scoped (a PHP value must not outlive its request).

use crate::config::{OptionValue, Settings, OPTION_NAMES};
use crate::error::ConfigError;
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::{ExecutorGlobals, IniEntryDef, IniEntryDefs};
use std::cell::RefCell;
use std::sync::Mutex;

/// INI entries; an empty value means "use the built-in default".
pub static INI_ENTRIES: IniEntryDefs<5> = IniEntryDefs::new([
    IniEntryDef::new(
        c"shoppingfeed_sync.database_url",
        c"",
        IniEntryPermission::All,
    ),
    IniEntryDef::new(
        c"shoppingfeed_sync.table_prefix",
        c"ps_",
        IniEntryPermission::All,
    ),
    IniEntryDef::new(
        c"shoppingfeed_sync.api_base_url",
        c"https://api.shopping-feed.com",
        IniEntryPermission::All,
    ),
    IniEntryDef::new(
        c"shoppingfeed_sync.http_timeout_ms",
        c"10000",
        IniEntryPermission::All,
    ),
    IniEntryDef::end(),
]);

/// `configure()` overrides, on top of the ini values, for this process.
static OVERRIDES: Mutex<Vec<(String, OptionValue)>> = Mutex::new(Vec::new());

thread_local! {
    static MAILER: RefCell<Option<Zval>> = const { RefCell::new(None) };
}

/// The current value of one of our INI entries. Looked up by name: building PHP's whole table of
/// INI values (`ini_values()`) costs ~70 µs, more than the hook's own database work.
fn ini_value(name: &str) -> Option<String> {
    let eg = ExecutorGlobals::get();
    // SAFETY: EG(ini_directives) is set up at startup and lives for the request; entries are
    // `zend_ini_entry` pointers owned by the table.
    let table = unsafe { eg.ini_directives.as_ref() }?;
    let entry = unsafe {
        table
            .get(name)?
            .ptr::<ext_php_rs::ffi::zend_ini_entry>()
            .and_then(|e| e.as_ref())
    }?;
    let value = unsafe { entry.value.as_ref() }?;
    Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Settings from the ini file, then from `configure()`.
pub fn current() -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    for name in OPTION_NAMES.iter().filter(|n| **n != "mailer") {
        if let Some(value) = ini_value(&format!("shoppingfeed_sync.{name}")) {
            if value.is_empty() {
                continue;
            }
            settings
                .set(name, OptionValue::Str(value))
                .map_err(|e| match e {
                    ConfigError::Invalid { option, reason } => ConfigError::Invalid {
                        option: format!("shoppingfeed_sync.{option} (php.ini)"),
                        reason,
                    },
                    other => other,
                })?;
        }
    }
    let overrides = OVERRIDES.lock().unwrap_or_else(|p| p.into_inner());
    for (name, value) in overrides.iter() {
        settings.set(name, value.clone())?;
    }
    Ok(settings)
}

fn option_value(zv: &Zval) -> OptionValue {
    if let Some(b) = zv.bool().filter(|_| zv.is_bool()) {
        OptionValue::Bool(b)
    } else if zv.is_long() {
        OptionValue::Int(zv.long().unwrap_or_default())
    } else if zv.is_double() {
        OptionValue::Float(zv.double().unwrap_or_default())
    } else if zv.is_string() {
        OptionValue::Str(zv.string().unwrap_or_default())
    } else if zv.is_null() {
        OptionValue::Null
    } else if zv.is_array() {
        OptionValue::Other("array")
    } else if zv.is_object() {
        OptionValue::Other("object")
    } else {
        OptionValue::Other("resource")
    }
}

/// Validates every option first; nothing changes unless all are valid. Safe from any PHP callback
/// (a mailer, an autoloader run by `is_callable`): no lock or borrow is held while PHP code runs.
pub fn configure(options: &ZendHashTable) -> Result<(), ConfigError> {
    let mut candidate = current()?;
    let mut accepted: Vec<(String, OptionValue)> = Vec::new();
    let mut mailer: Option<Zval> = None;
    for (key, value) in options.iter() {
        let name = key.to_string();
        if name == "mailer" {
            if value.is_null() {
                mailer = Some(Zval::new());
            } else if value.is_callable() {
                mailer = Some(value.shallow_clone());
            } else {
                return Err(ConfigError::invalid("mailer", "must be a callable or null"));
            }
            continue;
        }
        let v = option_value(value);
        candidate.set(&name, v.clone())?;
        accepted.push((name, v));
    }
    // Everything is valid: apply all of it. The mailer goes first, the only step that could be
    // refused (`try_borrow_mut`), so that a refusal leaves the settings untouched.
    if let Some(m) = mailer {
        let new = if m.is_null() { None } else { Some(m) };
        let old = MAILER.with(|cell| {
            cell.try_borrow_mut()
                .map(|mut slot| std::mem::replace(&mut *slot, new))
                .map_err(|_| ConfigError::invalid("mailer", "cannot be replaced right now"))
        })?;
        // The old closure is released after the borrow ends: its destructor may run PHP code.
        drop(old);
    }
    let mut overrides = OVERRIDES.lock().unwrap_or_else(|p| p.into_inner());
    for (name, v) in accepted {
        overrides.retain(|(n, _)| *n != name);
        overrides.push((name, v));
    }
    Ok(())
}

/// The configured mailer, if any: a new reference to it, so that no borrow is held while it runs
/// (it may call `configure()` or anything else of the extension).
pub fn mailer() -> Option<Zval> {
    MAILER.with(|cell| {
        cell.try_borrow()
            .ok()
            .and_then(|m| m.as_ref().map(Zval::shallow_clone))
    })
}

/// Forgets request-scoped values (called at request shutdown).
pub fn end_request() {
    let old = MAILER.with(|cell| cell.try_borrow_mut().ok().and_then(|mut m| m.take()));
    drop(old);
}
