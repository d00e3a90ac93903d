//! The ext-php-rs glue: registers the classes, converts types, maps errors to exceptions.
//! No business rule lives here.

pub mod actions;
pub mod convert;
pub mod cron;
pub mod exceptions;
pub mod handler;
pub mod order_sync;
pub mod pending_logs;
pub mod plain_class;
pub mod settings;
pub mod tasks;

use ext_php_rs::prelude::*;
use ext_php_rs::zend::{IniEntryDef, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_start};

extern "C" fn startup(_ty: i32, module_number: i32) -> i32 {
    IniEntryDef::register(settings::INI_ENTRIES.as_slice(), module_number);
    // Registered by hand (no `#[php_class]`): see plain_class.rs for why.
    match exceptions::register()
        .and_then(|()| actions::register())
        .and_then(|()| handler::register())
    {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

extern "C" fn request_shutdown(_ty: i32, _module_number: i32) -> i32 {
    settings::end_request();
    // A failure keeps the rows for the next request of this process; nothing can be thrown here.
    let _ = pending_logs::flush();
    0
}

/// `php -i` / `php --ri shoppingfeed_sync`: version, git revision, and every INI entry with its
/// local and master value, as PHP shows its own (an `info_func` replaces PHP's INI listing).
/// Passwords inside URLs are masked: phpinfo pages end up in support tickets.
extern "C" fn info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_row(&["shoppingfeed_sync support", "enabled"]);
    // "0.1.0 (revision)", as OrderSync::version() says it; phpversion() has the bare version.
    info_row(&["version", crate::version()]);
    info_row(&["git revision", env!("SFSYNC_GIT_REV")]);
    info_row(&["build date", env!("SFSYNC_BUILD_DATE")]);
    info_table_end!();
    info_table_start!();
    info_header(&["Directive", "Local Value", "Master Value"]);
    for (name, local, master) in ini_entries() {
        info_row(&[
            &name,
            &display_ini(local.as_deref()),
            &display_ini(master.as_deref()),
        ]);
    }
    info_table_end!();
}

/// Our INI entries (name, current value, value at startup), sorted by name.
fn ini_entries() -> Vec<(String, Option<String>, Option<String>)> {
    let eg = ext_php_rs::zend::ExecutorGlobals::get();
    // SAFETY: EG(ini_directives) is set up at startup and outlives the info call; its entries are
    // `zend_ini_entry` pointers owned by the table, their strings owned by the entries.
    let Some(table) = (unsafe { eg.ini_directives.as_ref() }) else {
        return Vec::new();
    };
    let text = |s: *mut ext_php_rs::ffi::zend_string| {
        // SAFETY: a null pointer is an absent value; otherwise a live zend_string of the entry.
        unsafe { s.as_ref() }.map(|z| String::from_utf8_lossy(z.as_bytes()).into_owned())
    };
    let mut out = Vec::new();
    for (key, zv) in table {
        let name = key.to_string();
        if !name.starts_with("shoppingfeed_sync.") {
            continue;
        }
        // SAFETY: as above; a non-pointer zval is skipped.
        let Some(entry) = (unsafe {
            zv.ptr::<ext_php_rs::ffi::zend_ini_entry>()
                .and_then(|e| e.as_ref())
        }) else {
            continue;
        };
        let local = text(entry.value);
        // PHP keeps the startup value in orig_value once a script has changed the entry.
        let master = if entry.modified != 0 {
            text(entry.orig_value)
        } else {
            local.clone()
        };
        out.push((name, local, master));
    }
    out.sort();
    out
}

fn display_ini(value: Option<&str>) -> String {
    match value {
        None | Some("") => "no value".to_string(),
        Some(v) => mask_url_password(v),
    }
}

/// `scheme://user:secret@host/...` -> `scheme://user:***@host/...`; anything else unchanged. In a
/// `mysql://` URL everything from the first `:` to the last `@` is masked: a password typed with an
/// unencoded `/`, `?`, `#` or `@` (an invalid URL, still shown here) must not show either.
fn mask_url_password(value: &str) -> String {
    let Some(scheme_end) = value.find("://") else {
        return value.to_string();
    };
    let rest = &value[scheme_end + 3..];
    let authority_end = if value.starts_with("mysql://") {
        rest.rfind('@').map_or(rest.len(), |at| at + 1)
    } else {
        rest.find(['/', '?', '#']).unwrap_or(rest.len())
    };
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return value.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return value.to_string();
    };
    format!(
        "{}{}:***{}",
        &value[..scheme_end + 3],
        &authority[..colon],
        &rest[at..]
    )
}

/// php_info_print_table_row/header take C strings: a NUL inside a value is dropped, never a panic.
fn c_strings(cols: &[&str]) -> Vec<std::ffi::CString> {
    cols.iter()
        .map(|c| std::ffi::CString::new(c.replace('\0', "")).unwrap_or_default())
        .collect()
}

fn info_row(cols: &[&str]) {
    let c = c_strings(cols);
    // SAFETY: variadic C call with as many valid NUL-terminated strings as announced, alive
    // for the duration of the call.
    unsafe {
        match c.as_slice() {
            [a, b] => ext_php_rs::ffi::php_info_print_table_row(2, a.as_ptr(), b.as_ptr()),
            [a, b, d] => {
                ext_php_rs::ffi::php_info_print_table_row(3, a.as_ptr(), b.as_ptr(), d.as_ptr())
            }
            _ => {}
        }
    }
}

fn info_header(cols: &[&str]) {
    let c = c_strings(cols);
    // SAFETY: as in info_row.
    unsafe {
        if let [a, b, d] = c.as_slice() {
            ext_php_rs::ffi::php_info_print_table_header(3, a.as_ptr(), b.as_ptr(), d.as_ptr());
        }
    }
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .request_shutdown_function(request_shutdown)
        .info_function(info)
        .class::<order_sync::OrderSync>()
        .class::<tasks::Tasks>()
}
