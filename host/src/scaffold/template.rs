//! The files of a new discipline crate: templates compiled into the binary, filled in with the
//! crate's names and the guest SDK's path.

use std::path::Path;

use super::name::CrateName;

/// One file to write: its path inside the crate and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    pub path: &'static str,
    pub contents: String,
}

/// The templates, by the path they are written to.
const TEMPLATES: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("template/Cargo.toml.tmpl")),
    (
        ".cargo/config.toml",
        include_str!("template/cargo-config.toml.tmpl"),
    ),
    ("src/lib.rs", include_str!("template/lib.rs.tmpl")),
    ("README.md", include_str!("template/README.md.tmpl")),
    (".gitignore", include_str!("template/gitignore.tmpl")),
];

/// The repository's own toolchain file (channel, components, the wasm32-wasip2 target), copied
/// as it is, so that a new crate builds with the toolchain this project is built with.
const RUST_TOOLCHAIN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../rust-toolchain.toml"
));

/// Every file of the crate named `name`, depending on the guest SDK at `sdk`.
pub fn render(name: &CrateName, sdk: &Path) -> Vec<ScaffoldFile> {
    let sdk_text = sdk.display().to_string();
    let sdk_toml = toml::Value::String(sdk_text.clone()).to_string();
    let wasm_file = name.wasm_file();
    let values = [
        ("crate_name", name.as_str()),
        ("discipline", name.discipline()),
        ("sdk_path", sdk_toml.as_str()),
        ("sdk_path_text", sdk_text.as_str()),
        ("wasm_file", wasm_file.as_str()),
    ];
    let mut files: Vec<ScaffoldFile> = TEMPLATES
        .iter()
        .map(|(path, template)| ScaffoldFile {
            path,
            contents: fill(template, &values),
        })
        .collect();
    files.push(ScaffoldFile {
        path: "rust-toolchain.toml",
        contents: RUST_TOOLCHAIN.to_owned(),
    });
    files
}

/// Replaces each `{{key}}` of `template` by its value.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Vec<ScaffoldFile> {
        let name = CrateName::parse("heat-flux").expect("a valid name");
        render(&name, Path::new("/src/my \"sdk\"/guest-sdk"))
    }

    #[test]
    fn every_placeholder_is_filled() {
        for file in rendered() {
            assert!(
                !file.contents.contains("{{"),
                "{} keeps a placeholder",
                file.path
            );
        }
    }

    #[test]
    fn the_manifest_is_its_own_workspace_and_names_the_sdk_as_toml() -> anyhow::Result<()> {
        let files = rendered();
        let manifest = files
            .iter()
            .find(|file| file.path == "Cargo.toml")
            .map(|file| file.contents.parse::<toml::Table>())
            .transpose()?
            .unwrap_or_default();
        assert_eq!(manifest["package"]["name"].as_str(), Some("heat-flux"));
        assert!(manifest.contains_key("workspace"));
        assert_eq!(
            manifest["dependencies"]["guest-sdk"]["path"].as_str(),
            Some("/src/my \"sdk\"/guest-sdk")
        );
        assert_eq!(
            manifest["lib"]["crate-type"].as_array().map(Vec::len),
            Some(1)
        );
        Ok(())
    }

    #[test]
    fn the_toolchain_targets_wasm32_wasip2_and_the_discipline_is_named() {
        let files = rendered();
        let contents = |path: &str| {
            files
                .iter()
                .find(|file| file.path == path)
                .map(|file| file.contents.clone())
                .unwrap_or_default()
        };
        assert!(contents("rust-toolchain.toml").contains("wasm32-wasip2"));
        assert!(contents(".cargo/config.toml").contains("target = \"wasm32-wasip2\""));
        assert!(contents("src/lib.rs").contains("pub struct HeatFlux;"));
        assert!(contents("README.md").contains("heat_flux.wasm"));
    }
}
