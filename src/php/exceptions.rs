//! The exception hierarchy, registered by hand with `ClassBuilder` (not `#[php_class]`) so that PHP
//! can `new` and extend them and thrown instances carry file, line and trace:
//!
//! ```text
//! Shoppingfeed\Sync\ExceptionInterface        extends \Throwable (implemented by all below)
//! Shoppingfeed\Sync\Exception                 extends \RuntimeException
//!   ├── Shoppingfeed\Sync\ConfigException
//!   ├── Shoppingfeed\Sync\DatabaseException
//!   └── Shoppingfeed\Sync\ApiException
//! Shoppingfeed\Sync\InvalidArgumentException  extends \InvalidArgumentException
//! ```
//!
//! `catch (ExceptionInterface $e)` catches everything the extension throws (as Guzzle's and
//! Symfony's marker interfaces do), whatever SPL parent each class has.

use crate::error::{ConfigError, DbError};
use crate::runtime::RuntimeError;
use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::zend::ClassEntry;
use std::sync::atomic::{AtomicPtr, Ordering};

static INTERFACE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static BASE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static CONFIG: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static DATABASE: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static API: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static INVALID_ARGUMENT: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());

const INTERFACE_NAME: &str = "Shoppingfeed\\Sync\\ExceptionInterface";
const INTERFACE_STUB: &str = "\\Shoppingfeed\\Sync\\ExceptionInterface";

/// Which of our exception classes to throw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Base,
    Config,
    Database,
    Api,
    InvalidArgument,
}

fn slot(kind: Kind) -> &'static AtomicPtr<ClassEntry> {
    match kind {
        Kind::Base => &BASE,
        Kind::Config => &CONFIG,
        Kind::Database => &DATABASE,
        Kind::Api => &API,
        Kind::InvalidArgument => &INVALID_ARGUMENT,
    }
}

fn load(kind: Kind) -> Option<&'static ClassEntry> {
    // SAFETY: the pointers are class entries registered at MINIT; they live as long as the process.
    unsafe { slot(kind).load(Ordering::Acquire).as_ref() }
}

/// `ClassEntry::try_find` does not work during MINIT: read the compiler's class table instead.
fn find_class_at_minit(lc_name: &str) -> Option<&'static ClassEntry> {
    // SAFETY: MINIT runs single-threaded with the compiler globals initialised.
    let cg = unsafe { ext_php_rs::ffi::ext_php_rs_compiler_globals().as_ref() }?;
    let table = unsafe { cg.class_table.as_ref() }?;
    let zv = table.get(lc_name)?;
    unsafe { zv.ptr::<ClassEntry>().and_then(|p| p.as_ref()) }
}

// `ClassBuilder::extends` takes plain function pointers; these never fail after MINIT ordering
// below (a parent is registered before its children). A missing parent makes registration fail,
// which PHP reports as "Unable to start shoppingfeed_sync module", not a crash.
fn runtime_exception_ce() -> &'static ClassEntry {
    find_class_at_minit("runtimeexception")
        .or_else(|| find_class_at_minit("exception"))
        .unwrap_or_else(ext_php_rs::zend::ce::exception)
}

fn invalid_argument_ce() -> &'static ClassEntry {
    find_class_at_minit("invalidargumentexception").unwrap_or_else(runtime_exception_ce)
}

fn interface_ce() -> &'static ClassEntry {
    // SAFETY: as for `load`.
    unsafe { INTERFACE.load(Ordering::Acquire).as_ref() }
        .unwrap_or_else(ext_php_rs::zend::ce::throwable)
}

fn base_ce() -> &'static ClassEntry {
    load(Kind::Base).unwrap_or_else(runtime_exception_ce)
}

macro_rules! registrar {
    ($fn_name:ident, $slot:ident) => {
        fn $fn_name(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
            // The tables describe no methods; the engine keeps pointers into them, so never free them.
            std::mem::forget(tables);
            $slot.store(ce, Ordering::Release);
        }
    };
}
registrar!(registered_interface, INTERFACE);
registrar!(registered_base, BASE);
registrar!(registered_config, CONFIG);
registrar!(registered_database, DATABASE);
registrar!(registered_api, API);
registrar!(registered_invalid_argument, INVALID_ARGUMENT);

/// Registers the classes; called from the module startup function.
pub fn register() -> ext_php_rs::error::Result<()> {
    ClassBuilder::new(INTERFACE_NAME)
        .flags(ClassFlags::Interface)
        .implements((ext_php_rs::zend::ce::throwable, "\\Throwable"))
        .registration(registered_interface)
        .register()?;
    ClassBuilder::new("Shoppingfeed\\Sync\\Exception")
        .extends((runtime_exception_ce, "\\RuntimeException"))
        .implements((interface_ce, INTERFACE_STUB))
        .registration(registered_base)
        .register()?;
    for (name, reg) in [
        (
            "Shoppingfeed\\Sync\\ConfigException",
            registered_config as fn(&'static mut ClassEntry, ArgInfoTables),
        ),
        ("Shoppingfeed\\Sync\\DatabaseException", registered_database),
        ("Shoppingfeed\\Sync\\ApiException", registered_api),
    ] {
        ClassBuilder::new(name)
            .extends((base_ce, "\\Shoppingfeed\\Sync\\Exception"))
            .registration(reg)
            .register()?;
    }
    ClassBuilder::new("Shoppingfeed\\Sync\\InvalidArgumentException")
        .extends((invalid_argument_ce, "\\InvalidArgumentException"))
        .implements((interface_ce, INTERFACE_STUB))
        .registration(registered_invalid_argument)
        .register()?;
    Ok(())
}

/// An exception of our hierarchy (falls back to `\Exception` if registration did not happen).
pub fn throwable(kind: Kind, message: impl Into<String>) -> PhpException {
    // A message may echo a caller's string; PHP cannot take one with a NUL byte, and ext-php-rs
    // would throw a bare \Error ("cannot throw ...") instead of our class.
    let message = message.into().replace('\0', "\\0");
    match load(kind) {
        Some(ce) => PhpException::new(message, 0, ce),
        None => PhpException::from_message(message),
    }
}

impl From<ConfigError> for PhpException {
    fn from(e: ConfigError) -> Self {
        throwable(Kind::Config, e.to_string())
    }
}

impl From<DbError> for PhpException {
    fn from(e: DbError) -> Self {
        throwable(Kind::Database, e.to_string())
    }
}

impl From<RuntimeError> for PhpException {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Db(e) => e.into(),
            other => throwable(Kind::Base, other.to_string()),
        }
    }
}
