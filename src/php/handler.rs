//! `Shoppingfeed\Sync\ActionsHandler`, with the semantics of Classlib's ActionsHandler: the chain
//! name gives the class (`ucfirst($chain).'Actions'`, or its `...Override` subclass when it exists),
//! a new instance gets the model object and a copy of the conveyor, actions run in order
//! (non-callable names skipped, the first falsy result stops), and the conveyor is copied back.
//! Declared as Classlib declares it (`protected $conveyor`, `$modelObject`, `$actions`; methods
//! without return types, `addActions($actions)` taking more names as extra arguments), so a
//! subclass written for Classlib's handler is compatible.

use crate::php::convert::truthy;
use crate::php::exceptions::{throwable, Kind};
use crate::php::plain_class::{
    self, bool_zval, call_method, method, protected_property, set_property, this_zval,
    with_property, Call, Method, Param,
};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::flags::{ClassFlags, DataType};
use ext_php_rs::types::{ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecutorGlobals};

fn set_model_object(call: &mut Call) -> PhpResult<Zval> {
    let value = call.arg(0, 1)?.shallow_clone();
    set_property(call.this, "modelObject", value)?;
    Ok(this_zval(call.this))
}

fn set_conveyor(call: &mut Call) -> PhpResult<Zval> {
    call.array_arg(0, "conveyorData")?;
    let value = call.arg(0, 1)?.shallow_clone();
    set_property(call.this, "conveyor", value)?;
    Ok(this_zval(call.this))
}

fn get_conveyor(call: &mut Call) -> PhpResult<Zval> {
    Ok(with_property(call.this, "conveyor", |v| {
        v.map(Zval::shallow_clone).unwrap_or_default()
    }))
}

/// `addActions($action, ...)`: replaces the list of actions (as Classlib's, with func_get_args()).
fn add_actions(call: &mut Call) -> PhpResult<Zval> {
    call.arg(0, 1)?;
    let mut names = ZendHashTable::new();
    for a in call.args() {
        match a.str().filter(|_| a.is_string()) {
            Some(s) => names.push(s)?,
            None => {
                return Err(throwable(
                    Kind::InvalidArgument,
                    "addActions() takes action names (strings)",
                ))
            }
        }
    }
    let mut zv = Zval::new();
    zv.set_hashtable(names);
    set_property(call.this, "actions", zv)?;
    Ok(this_zval(call.this))
}

/// Runs the actions on a new instance of the chain's class; false when one returned false.
fn process(call: &mut Call) -> PhpResult<Zval> {
    let chain = call.string_arg(0, "chain")?;
    let class_name = format!("{}Actions", ucfirst(&chain));
    if class_name.is_empty() || !class_name.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(throwable(
            Kind::InvalidArgument,
            format!("\"{class_name}\" class name not valid"),
        ));
    }
    let ce = ClassEntry::try_find(&format!("{class_name}Override"))
        .or_else(|| ClassEntry::try_find(&class_name))
        .ok_or_else(|| throwable(Kind::Base, format!("\"{class_name}\" class not defined")))?;
    // PHP itself refuses `new` on these; creating the object by hand would bypass that.
    if ce.is_interface()
        || ce
            .flags()
            .intersects(ClassFlags::Abstract | ClassFlags::Trait)
    {
        return Err(throwable(
            Kind::Base,
            format!("\"{class_name}\" is not an instantiable class"),
        ));
    }
    let actions: Vec<String> = with_property(call.this, "actions", |v| {
        v.and_then(Zval::array)
            .map(|a| {
                a.values()
                    .filter_map(|x| x.str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    });
    let model = with_property(call.this, "modelObject", |v| {
        v.map(Zval::shallow_clone).unwrap_or_default()
    });
    let conveyor = get_conveyor(call)?;

    let mut object: ZBox<ZendObject> = ZendObject::new(ce);
    if ce.constructor.is_null() {
        // No constructor to run (a plain userland class).
    } else if let Some(Err(())) = call_method(&mut object, "__construct", vec![]) {
        return Ok(bool_zval(false));
    }
    if ExecutorGlobals::has_exception() {
        return Ok(bool_zval(false));
    }
    call_method(&mut object, "setModelObject", vec![&model]);
    call_method(&mut object, "setConveyor", vec![&conveyor]);
    if ExecutorGlobals::has_exception() {
        return Ok(bool_zval(false));
    }
    let mut result = true;
    for action in actions {
        match call_method(&mut object, &action, vec![]) {
            // Not callable: skipped, as Classlib does.
            None => continue,
            // The action threw: the exception propagates and the conveyor is not copied back.
            Some(Err(())) => return Ok(bool_zval(false)),
            Some(Ok(ret)) => {
                if ExecutorGlobals::has_exception() {
                    return Ok(bool_zval(false));
                }
                if !truthy(&ret) {
                    result = false;
                    break;
                }
            }
        }
    }
    if let Some(Ok(conveyor)) = call_method(&mut object, "getConveyor", vec![]) {
        if conveyor.is_array() {
            set_property(call.this, "conveyor", conveyor)?;
        }
    }
    Ok(bool_zval(result))
}

fn methods() -> Vec<Method> {
    vec![
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "__construct",
            [],
            |_| { Ok(Zval::new()) }
        ),
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "setModelObject",
            [Param {
                name: "modelObject",
                ty: DataType::Mixed
            }],
            set_model_object
        ),
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "setConveyor",
            [Param {
                name: "conveyorData",
                ty: DataType::Array
            }],
            set_conveyor
        ),
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "getConveyor",
            [],
            get_conveyor
        ),
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "addActions",
            [Param {
                name: "actions",
                ty: DataType::Mixed
            }],
            add_actions
        ),
        method!(
            "Shoppingfeed\\Sync\\ActionsHandler",
            "process",
            [Param {
                name: "chain",
                ty: DataType::String
            }],
            process
        ),
    ]
}

/// Registers the class; called from the module startup function.
pub fn register() -> ext_php_rs::error::Result<()> {
    plain_class::with_members(
        ClassBuilder::new("Shoppingfeed\\Sync\\ActionsHandler"),
        &methods(),
        vec![
            protected_property("modelObject", false),
            protected_property("conveyor", true),
            protected_property("actions", true),
        ],
    )
    .registration(plain_class::keep_tables)
    .register()
}

fn ucfirst(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
