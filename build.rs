//! Gives the shared library its SONAME, so that it installs and loads as
//! libcomposefs.so.1 like the C library, and makes `mount.composefs` exist
//! next to the built tools.
use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcomposefs.so.1");
    println!("cargo:rerun-if-changed=build.rs");
    // Cargo cannot name a binary mount.composefs; the binary is
    // mount-composefs and this link (dangling until it is built) gives
    // target/<profile>/mount.composefs. OUT_DIR is
    // <target>/<profile>/build/<pkg>-<hash>/out.
    if let Some(dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) {
        if let Some(profile_dir) = dir.ancestors().nth(3) {
            let link = profile_dir.join("mount.composefs");
            if std::fs::read_link(&link).is_err() {
                let _ = std::os::unix::fs::symlink("mount-composefs", &link);
            }
        }
    }
}
