//! `Shoppingfeed\Sync\ActionsHandler`, with the semantics of Classlib's ActionsHandler: the chain
//! name gives the class (`ucfirst($chain).'Actions'`, or its `...Override` subclass when it exists),
//! a new instance gets the model object and a copy of the conveyor, actions run in order
//! (non-callable names skipped, the first falsy result stops), and the conveyor is copied back.

use crate::php::convert::truthy;
use crate::php::exceptions::{throwable, Kind};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendClassObject, ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecutorGlobals};

#[php_class]
#[php(name = "Shoppingfeed\\Sync\\ActionsHandler")]
// No `Default`: ext-php-rs would then build every instance, subclasses included, as the base
// class. PHP subclasses get their object from the constructor (`parent::__construct()`).
pub struct ActionsHandler {
    conveyor: Option<ZBox<ZendHashTable>>,
    model_object: Option<Zval>,
    actions: Vec<String>,
}

impl ActionsHandler {
    fn empty() -> Self {
        ActionsHandler {
            conveyor: None,
            model_object: None,
            actions: Vec::new(),
        }
    }
}

/// Calls `$object->$method(...$args)` if it is publicly callable; `None` when it is not.
fn call_method(
    object: &mut ZendObject,
    method: &str,
    args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn>,
) -> Option<Result<Zval, ()>> {
    let mut this = Zval::new();
    this.set_object(object);
    let mut pair = ZendHashTable::new();
    pair.push(this).ok()?;
    pair.push(method).ok()?;
    let mut callable = Zval::new();
    callable.set_hashtable(pair);
    let callable = ZendCallable::new_owned(callable).ok()?;
    Some(callable.try_call(args).map_err(|_| ()))
}

#[php_impl]
impl ActionsHandler {
    pub fn __construct() -> Self {
        Self::empty()
    }

    pub fn set_conveyor<'a>(
        self_: &'a mut ZendClassObject<ActionsHandler>,
        conveyor: &ZendHashTable,
    ) -> &'a mut ZendClassObject<ActionsHandler> {
        if let Some(h) = self_.obj.as_mut() {
            h.conveyor = Some(conveyor.to_owned());
        }
        self_
    }

    pub fn get_conveyor(&self) -> ZBox<ZendHashTable> {
        match &self.conveyor {
            Some(c) => c.clone(),
            None => ZendHashTable::new(),
        }
    }

    pub fn set_model_object<'a>(
        self_: &'a mut ZendClassObject<ActionsHandler>,
        model_object: &Zval,
    ) -> &'a mut ZendClassObject<ActionsHandler> {
        if let Some(h) = self_.obj.as_mut() {
            h.model_object = Some(model_object.shallow_clone());
        }
        self_
    }

    /// Replaces the list of actions (as Classlib's `addActions`).
    pub fn add_actions<'a>(
        self_: &'a mut ZendClassObject<ActionsHandler>,
        actions: &[&Zval],
    ) -> PhpResult<&'a mut ZendClassObject<ActionsHandler>> {
        let mut names = Vec::with_capacity(actions.len());
        for a in actions {
            match a.string().filter(|_| a.is_string()) {
                Some(s) => names.push(s),
                None => {
                    return Err(throwable(
                        Kind::InvalidArgument,
                        "addActions() takes action names (strings)",
                    ))
                }
            }
        }
        if let Some(h) = self_.obj.as_mut() {
            h.actions = names;
        }
        Ok(self_)
    }

    /// Runs the actions on a new instance of the chain's class; false when one returned false.
    pub fn process(&mut self, chain: String) -> PhpResult<bool> {
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
        let mut object: ZBox<ZendObject> = ZendObject::new(ce);
        if ce.constructor.is_null() {
            // No constructor to run (a plain userland class).
        } else if let Some(Err(())) = call_method(&mut object, "__construct", vec![]) {
            return Ok(false);
        }
        if ExecutorGlobals::has_exception() {
            return Ok(false);
        }
        let model = self
            .model_object
            .as_ref()
            .map(Zval::shallow_clone)
            .unwrap_or_default();
        let conveyor = self.get_conveyor();
        let mut conveyor_zv = Zval::new();
        conveyor_zv.set_hashtable(conveyor);
        call_method(&mut object, "setModelObject", vec![&model]);
        call_method(&mut object, "setConveyor", vec![&conveyor_zv]);
        if ExecutorGlobals::has_exception() {
            return Ok(false);
        }
        let mut result = true;
        for action in self.actions.clone() {
            match call_method(&mut object, &action, vec![]) {
                // Not callable: skipped, as Classlib does.
                None => continue,
                // The action threw: the exception propagates and the conveyor is not copied back.
                Some(Err(())) => return Ok(false),
                Some(Ok(ret)) => {
                    if ExecutorGlobals::has_exception() {
                        return Ok(false);
                    }
                    if !truthy(&ret) {
                        result = false;
                        break;
                    }
                }
            }
        }
        if let Some(Ok(conveyor)) = call_method(&mut object, "getConveyor", vec![]) {
            if let Some(arr) = conveyor.array() {
                self.conveyor = Some(arr.to_owned());
            }
        }
        Ok(result)
    }
}

fn ucfirst(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
