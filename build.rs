//! Embeds the default rules directory (`rules/`) into the binary, so `triage` works from any
//! directory without files beside it.
use std::{env, fs, path::Path};

fn collect(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read rules dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push(format!(
                "    ({rel:?}, include_str!({:?})),\n",
                path.canonicalize().unwrap().display().to_string()
            ));
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    println!(
        "cargo:rerun-if-changed={}",
        root.join("categories").display()
    );
    let code = format!(
        "/// The default rules directory, embedded at build time: (relative path, contents).\n\
         pub const EMBEDDED_RULES: &[(&str, &str)] = &[\n{}];\n",
        files.concat()
    );
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    fs::write(out, code).expect("write embedded_rules.rs");
}
