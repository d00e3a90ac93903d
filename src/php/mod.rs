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

use ext_php_rs::prelude::*;
use ext_php_rs::zend::{IniEntryDef, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

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

extern "C" fn info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("shoppingfeed_sync support", "enabled");
    info_table_row!("version", crate::version());
    info_table_row!("build date", env!("SFSYNC_BUILD_DATE"));
    info_table_end!();
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .request_shutdown_function(request_shutdown)
        .info_function(info)
        .class::<order_sync::OrderSync>()
}
