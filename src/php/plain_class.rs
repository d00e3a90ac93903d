//! Classes registered by hand with `ClassBuilder`, with no Rust object behind them, for PHP code
//! written against the reference module's classes (PHP 5.6 style: no parameter or return types).
//!
//! `#[php_impl]` always declares a return type (`: bool`, `: void`...), and PHP refuses a child
//! method without one ("Declaration ... must be compatible with ...: bool"). Here methods declare
//! no return type, parameter types only where an untyped override stays compatible with them
//! (`array`, `string`: a child may widen a parameter, never drop a return type), and the state
//! lives in declared `protected` properties, as in Classlib's `DefaultActions`/`ActionsHandler`:
//! an override reads `$this->conveyor`, may skip `parent::__construct()`, and is cloneable.
//! Argument counts and types are checked here as PHP checks a typed parameter (TypeError,
//! ArgumentCountError); extra arguments are accepted, as by a userland method.

use ext_php_rs::args::Arg;
use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::convert::{IntoZval, IntoZvalDyn};
use ext_php_rs::exception::{PhpException, PhpResult};
use ext_php_rs::flags::{DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendCallable, ZendEmptyArray, ZendHashTable, ZendObject, ZendStr, Zval};
use ext_php_rs::zend::{ce, run_handler, ExecuteData};
use std::panic::AssertUnwindSafe;
use std::ptr;

/// What `FunctionBuilder::new` takes (ext-php-rs does not export its alias).
#[cfg(not(windows))]
pub type FunctionHandler = extern "C" fn(execute_data: &mut ExecuteData, retval: &mut Zval);
#[cfg(windows)]
pub type FunctionHandler =
    extern "vectorcall" fn(execute_data: &mut ExecuteData, retval: &mut Zval);

/// A required parameter; `DataType::Mixed` for an untyped one.
pub struct Param {
    pub name: &'static str,
    pub ty: DataType,
}

/// A method body: `$this` and the arguments as given → the return value.
pub type Body = fn(&mut Call) -> PhpResult<Zval>;

/// One method of a hand-registered class.
pub struct Method {
    pub name: &'static str,
    pub params: &'static [Param],
    pub handler: FunctionHandler,
    pub visibility: MethodFlags,
}

/// Declares a public [`Method`]: `method!("Class", "name", [params], body)`, or a protected one:
/// `method!(protected "Class", ...)`. Each use gets its own `extern` handler, which calls
/// [`dispatch`].
macro_rules! method {
    (protected $($rest:tt)*) => {{
        let mut m = $crate::php::plain_class::method!($($rest)*);
        m.visibility = ::ext_php_rs::flags::MethodFlags::Protected;
        m
    }};
    ($class:literal, $name:literal, [$($param:expr),* $(,)?], $body:expr) => {{
        ::ext_php_rs::zend_fastcall! {
            extern fn handler(
                ex: &mut ::ext_php_rs::zend::ExecuteData,
                retval: &mut ::ext_php_rs::types::Zval,
            ) {
                $crate::php::plain_class::dispatch(ex, retval, concat!($class, "::", $name), $body);
            }
        }
        $crate::php::plain_class::Method {
            name: $name,
            params: &[$($param),*],
            handler,
            visibility: ::ext_php_rs::flags::MethodFlags::Public,
        }
    }};
}
pub(crate) use method;

/// A call in progress.
pub struct Call<'a> {
    /// `Class::method`, for error messages.
    pub method: &'static str,
    pub this: &'a mut ZendObject,
    args: Vec<&'a Zval>,
}

impl<'a> Call<'a> {
    pub fn args(&self) -> &[&'a Zval] {
        &self.args
    }

    /// Argument `i` (0-based), or PHP's ArgumentCountError when fewer than `required` were given.
    pub fn arg(&self, i: usize, required: usize) -> PhpResult<&'a Zval> {
        match self.args.get(i) {
            Some(v) => Ok(v),
            None => Err(PhpException::new(
                format!(
                    "{}() expects at least {required} argument{}, {} given",
                    self.method,
                    if required == 1 { "" } else { "s" },
                    self.args.len()
                ),
                0,
                ce::argument_count_error(),
            )),
        }
    }

    /// Argument `i`, which must be an array (PHP's TypeError otherwise, as for a typed parameter).
    pub fn array_arg(&self, i: usize, name: &str) -> PhpResult<&'a ZendHashTable> {
        let v = self.arg(i, i + 1)?;
        v.array()
            .ok_or_else(|| self.type_error(i, name, "array", v))
    }

    /// Argument `i`, which must be a string.
    pub fn string_arg(&self, i: usize, name: &str) -> PhpResult<String> {
        let v = self.arg(i, i + 1)?;
        match v.string().filter(|_| v.is_string()) {
            Some(s) => Ok(s),
            None => Err(self.type_error(i, name, "string", v)),
        }
    }

    fn type_error(&self, i: usize, name: &str, expected: &str, given: &Zval) -> PhpException {
        PhpException::new(
            format!(
                "{}(): Argument #{} (${name}) must be of type {expected}, {} given",
                self.method,
                i + 1,
                type_name(given)
            ),
            0,
            ce::type_error(),
        )
    }
}

/// The type name PHP prints in a TypeError.
pub fn type_name(v: &Zval) -> String {
    if let Some(obj) = v.object() {
        return obj.get_class_name().unwrap_or_else(|_| "object".into());
    }
    match v.get_type() {
        DataType::Null | DataType::Undef => "null",
        DataType::False | DataType::True | DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Double => "float",
        DataType::String => "string",
        DataType::Array => "array",
        _ => "mixed",
    }
    .to_string()
}

/// The body of every handler: reads `$this` and the arguments, runs `body`, sets the return value
/// or throws. A panic becomes a PHP `Error` (run_handler), never a crash.
pub fn dispatch(ex: &mut ExecuteData, retval: &mut Zval, method: &'static str, body: Body) {
    run_handler(AssertUnwindSafe(|| {
        // SAFETY: `num_args` is set by the engine for every call frame.
        let n = unsafe { ex.This.u2.num_args } as usize;
        // SAFETY: the arguments live as long as the call frame, which outlives this call.
        let args: Vec<&Zval> = (0..n)
            .filter_map(|i| unsafe { ex.zend_call_arg(i) }.map(|z| &*z))
            .collect();
        let Some(this) = ex.get_self() else {
            PhpException::new(
                format!("{method}() must be called on an object"),
                0,
                ce::error(),
            )
            .throw();
            return;
        };
        let mut call = Call { method, this, args };
        let result = body(&mut call).and_then(|value| {
            value
                .set_zval(retval, false)
                .map_err(|e| PhpException::from(e.to_string()))
        });
        if let Err(e) = result {
            e.throw();
        }
    }));
}

/// Calls `f` with `$object->$name` (no notice when undefined). The value may live in a temporary
/// (a magic `__get`), hence the closure rather than a returned reference.
pub fn with_property<R>(object: &ZendObject, name: &str, f: impl FnOnce(Option<&Zval>) -> R) -> R {
    // SAFETY: every object has a handlers table; read_property is one of its mandatory entries.
    let Some(read) = unsafe { object.handlers.as_ref() }.and_then(|h| h.read_property) else {
        return f(None);
    };
    let mut name = ZendStr::new(name, false);
    let mut rv = Zval::new();
    // SAFETY: read_property does not modify the object for BP_VAR_IS; `rv` outlives the use.
    let value = unsafe {
        read(
            ptr::from_ref(object).cast_mut(),
            &raw mut *name,
            ext_php_rs::ffi::BP_VAR_IS as i32,
            ptr::null_mut(),
            &raw mut rv,
        )
        .as_ref()
    };
    f(value.filter(|v| !v.is_null()))
}

/// `$object->$name = $value`.
pub fn set_property(object: &mut ZendObject, name: &str, value: Zval) -> PhpResult<()> {
    object
        .set_property(name, value)
        .map_err(|e| PhpException::from(format!("cannot set ${name}: {e}")))
}

/// Calls `$object->$method(...$args)` if it is callable from the current scope; `None` when not.
pub fn call_method(
    object: &mut ZendObject,
    method: &str,
    args: Vec<&dyn IntoZvalDyn>,
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

/// `$object` as a return value (`return $this`).
pub fn this_zval(object: &mut ZendObject) -> Zval {
    let mut zv = Zval::new();
    zv.set_object(object);
    zv
}

pub fn bool_zval(b: bool) -> Zval {
    let mut zv = Zval::new();
    zv.set_bool(b);
    zv
}

/// A copy of an array as a return value.
pub fn array_zval(array: &ZendHashTable) -> Zval {
    let mut zv = Zval::new();
    zv.set_hashtable(array.to_owned());
    zv
}

/// A protected property: `= []` or `= null`.
pub fn protected_property(name: &str, empty_array: bool) -> ClassProperty {
    ClassProperty {
        name: name.into(),
        flags: PropertyFlags::Protected,
        // Internal classes need a persistent default: the engine's immutable empty array is one.
        default: empty_array.then(|| {
            Box::new(|| ZendEmptyArray.into_zval(true))
                as Box<dyn FnOnce() -> ext_php_rs::error::Result<Zval>>
        }),
        docs: &[],
        ty: None,
        nullable: false,
        readonly: false,
        default_stub: Some(if empty_array { "[]" } else { "null" }.into()),
    }
}

/// The builder of one untyped method: parameters as declared, no return type.
pub fn method_builder(m: &Method) -> (FunctionBuilder<'static>, MethodFlags) {
    let mut b = FunctionBuilder::new(m.name, m.handler);
    for p in m.params {
        b = b.arg(Arg::new(p.name, p.ty));
    }
    (b, m.visibility)
}

/// Adds `methods` and `properties` to `builder`.
pub fn with_members(
    mut builder: ClassBuilder,
    methods: &[Method],
    properties: Vec<ClassProperty>,
) -> ClassBuilder {
    for m in methods {
        let (f, flags) = method_builder(m);
        builder = builder.method(f, flags);
    }
    for p in properties {
        builder = builder.property(p);
    }
    builder
}

/// The registration callback: the engine keeps pointers into the argument tables for the life of
/// the process, so they are never freed.
pub fn keep_tables(
    _ce: &'static mut ext_php_rs::zend::ClassEntry,
    tables: ext_php_rs::args::ArgInfoTables,
) {
    std::mem::forget(tables);
}
