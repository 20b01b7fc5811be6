//! The name of a new discipline crate, checked once: a valid Cargo package name, and its
//! CamelCase form, which names the discipline (the process id).

use std::fmt;

/// A checked crate name, e.g. `heat-flux`, and its discipline name, `HeatFlux`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateName {
    name: String,
    discipline: String,
}

/// Why a name cannot be a discipline crate's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a valid discipline crate name: {reason}")]
pub struct InvalidName {
    name: String,
    reason: &'static str,
}

/// The longest name accepted (crates.io's limit).
const LONGEST: usize = 64;

/// Names Cargo or Rust keep for themselves, and the crates the scaffold depends on.
const RESERVED: &[&str] = &[
    "alloc",
    "build",
    "core",
    "deps",
    "examples",
    "guest_sdk",
    "incremental",
    "proc_macro",
    "schemars",
    "serde",
    "std",
    "test",
];

/// Rust keywords, strict and reserved: a crate cannot be named after one.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Type names the generated `lib.rs` declares or uses: the discipline's struct must not
/// shadow them.
const TEMPLATE_TYPES: &[&str] = &[
    "Default",
    "Deserialize",
    "Differentiable",
    "Discipline",
    "Error",
    "Jacobian",
    "Inputs",
    "JsonSchema",
    "NoOptions",
    "Ok",
    "Outputs",
    "Result",
    "Self",
    "Serialize",
    "String",
    "Vec",
];

impl CrateName {
    /// Checks `name`: lowercase ASCII letters, digits, `-` and `_`, starting with a letter.
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        let invalid = |reason| InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() || name.len() > LONGEST {
            return Err(invalid("it must have 1 to 64 characters"));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(invalid("it must start with a lowercase ASCII letter"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(invalid(
                "use only lowercase ASCII letters, digits, '-' and '_'",
            ));
        }
        let identifier = name.replace('-', "_");
        if KEYWORDS.contains(&identifier.as_str()) || RESERVED.contains(&identifier.as_str()) {
            return Err(invalid(
                "the name is reserved by Rust, Cargo or the guest SDK",
            ));
        }
        let discipline = camel_case(name);
        if TEMPLATE_TYPES.contains(&discipline.as_str()) {
            return Err(invalid(
                "its CamelCase form names a type the generated code uses",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            discipline,
        })
    }

    /// The package name, as given.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The discipline's name: the CamelCase form, e.g. `HeatFlux` for `heat-flux`.
    pub fn discipline(&self) -> &str {
        &self.discipline
    }

    /// The component Cargo builds: `heat_flux.wasm` for `heat-flux`.
    pub fn wasm_file(&self) -> String {
        format!("{}.wasm", self.name.replace('-', "_"))
    }
}

impl fmt::Display for CrateName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name)
    }
}

/// `heat-flux` → `HeatFlux`, `sellar_3` → `Sellar3`: each part between `-` and `_` capitalised.
fn camel_case(name: &str) -> String {
    name.split(['-', '_'])
        .flat_map(|part| {
            let mut characters = part.chars();
            let first = characters.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(characters)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_name_gives_a_camel_case_discipline_and_a_wasm_file() -> Result<(), InvalidName> {
        let name = CrateName::parse("heat-flux_2d")?;
        assert_eq!(name.discipline(), "HeatFlux2d");
        assert_eq!(name.wasm_file(), "heat_flux_2d.wasm");
        assert_eq!(CrateName::parse("a")?.discipline(), "A");
        assert_eq!(CrateName::parse("x--y")?.discipline(), "XY");
        Ok(())
    }

    #[test]
    fn invalid_names_say_why() {
        for bad in [
            "",
            "Heat",
            "9lives",
            "-x",
            "heat flux",
            "héat",
            "a.b",
            "fn",
            "test",
            "guest-sdk",
            "inputs",
            "vec",
        ] {
            assert!(CrateName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let error = CrateName::parse("Bad!").map_err(|error| error.to_string());
        assert_eq!(
            error.err().as_deref(),
            Some(
                "\"Bad!\" is not a valid discipline crate name: it must start with a lowercase ASCII letter"
            )
        );
        assert!(CrateName::parse(&"a".repeat(65)).is_err());
    }
}
