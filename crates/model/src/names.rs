//! Enumerations named in input files: one macro gives each its names (`ALL`, `name()`), `Display`
//! and `FromStr` with a typed [`UnknownName`] error, so no crate matches on their strings again.

/// A name that is none of an enumeration's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("= \"{found}\", expected {}", expected_names(.expected))]
pub struct UnknownName {
    /// What was being named, e.g. `asset kind`.
    pub what: &'static str,
    /// The name found.
    pub found: String,
    /// Every accepted name.
    pub expected: &'static [&'static str],
}

/// `"a" or "b"` for two names, `one of: a, b, c` for more.
fn expected_names(names: &[&str]) -> String {
    match names {
        [a, b] => format!("\"{a}\" or \"{b}\""),
        _ => format!("one of: {}", names.join(", ")),
    }
}

/// Declares a fieldless enum with one name per variant, as written in input files:
/// `ALL` (every variant), `NAMES` (their names, in the same order), `name()`, `Display` and
/// `FromStr` (exact names; anything else is an [`UnknownName`]).
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of every variant, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name as written in input files.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownName {
                        what: $what,
                        found: s.to_string(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests;
