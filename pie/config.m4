dnl PIE / phpize build of shoppingfeed_sync: the extension is a Rust crate, so "make" runs cargo
dnl and copies the library into modules/, where "make install" takes it from.
dnl Needs cargo (https://rustup.rs), clang/libclang (bindgen) and this PHP's php-config.

PHP_ARG_ENABLE([shoppingfeed_sync],
  [whether to enable the shoppingfeed_sync extension],
  [AS_HELP_STRING([--enable-shoppingfeed_sync], [Build the shoppingfeed_sync extension (Rust, cargo)])],
  [yes])

if test "$PHP_SHOPPINGFEED_SYNC" != "no"; then
  AC_PATH_PROG([CARGO], [cargo], [no], [$PATH:$HOME/.cargo/bin])
  if test "$CARGO" = "no"; then
    AC_MSG_ERROR([cargo not found: install Rust from https://rustup.rs, then run PIE again])
  fi

  dnl The crate is the package root, one level above this build path.
  SFSYNC_CRATE_DIR="`cd "$srcdir/.." && pwd`"
  if test ! -f "$SFSYNC_CRATE_DIR/Cargo.toml"; then
    AC_MSG_ERROR([Cargo.toml not found in $SFSYNC_CRATE_DIR])
  fi
  SFSYNC_TARGET_DIR="${CARGO_TARGET_DIR:-$SFSYNC_CRATE_DIR/target}"
  AC_MSG_RESULT([shoppingfeed_sync: cargo build of $SFSYNC_CRATE_DIR into $SFSYNC_TARGET_DIR])

  cat >>Makefile.objects <<SFSYNC_EOF
all: shoppingfeed_sync_cargo

shoppingfeed_sync_cargo:
	PHP_CONFIG="$PHP_CONFIG" CARGO_TARGET_DIR="$SFSYNC_TARGET_DIR" "$CARGO" build --release --locked --lib --no-default-features --features extension --manifest-path "$SFSYNC_CRATE_DIR/Cargo.toml"
	mkdir -p modules
	cp "$SFSYNC_TARGET_DIR/release/libshoppingfeed_sync.so" modules/shoppingfeed_sync.so

clean: shoppingfeed_sync_cargo_clean

shoppingfeed_sync_cargo_clean:
	rm -f modules/shoppingfeed_sync.so

.PHONY: shoppingfeed_sync_cargo shoppingfeed_sync_cargo_clean
SFSYNC_EOF
fi
