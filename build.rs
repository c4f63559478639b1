//! Gives the shared library its SONAME, so that it installs and loads as
//! libcomposefs.so.1 like the C library.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcomposefs.so.1");
    println!("cargo:rerun-if-changed=build.rs");
}
