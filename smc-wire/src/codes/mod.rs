//! Code points as newtypes (rusticata `newtype_enum!` habit, style §5): one representation per
//! wire value, named constants for the known ones, and a sorted table of [`CodeInfo`] rows that
//! the decoder, the CLI, the JSON output and the peer's scenario files all read.

pub mod decline;
pub mod llc;

pub use decline::DeclineReason;
pub use llc::{DeleteLinkReason, LlcType};

/// Which kernel era a table row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Era {
    /// Values of the current kernel (reference §5.2, `smc_clc.h` of the v6.13+ tree).
    Current,
    /// Linux 4.11-era values that differ from today's (reference §5.2 "Historic values").
    Linux4_11,
}

/// One row of a code-point table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeInfo<T: 'static> {
    /// The raw wire value.
    pub value: T,
    /// The kernel's name, without its common prefix (`SMC_CLC_DECL_NOSMCDEV` → `NOSMCDEV`).
    pub name: &'static str,
    /// One line saying what the value means.
    pub meaning: &'static str,
    /// Which era the row belongs to.
    pub era: Era,
}

/// Declares a code-point newtype, its named constants and its sorted info table.
///
/// `serialize = name` renders the name (or the number when unknown); `serialize = full`
/// renders `{ "value", "hex", "name", "meaning" }`.
macro_rules! code_points {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($ty:ty);
        table $table:ident;
        hex_width $width:literal;
        serialize $ser:ident;
        $( $cname:ident = $value:literal, $era:ident, $meaning:literal; )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub struct $name(pub $ty);

        #[allow(missing_docs)]
        impl $name {
            $( pub const $cname: $name = $name($value); )*
        }

        /// Every known value of this code point, sorted by value then era.
        pub static $table: &[$crate::codes::CodeInfo<$ty>] = &[
            $( $crate::codes::CodeInfo {
                value: $value,
                name: stringify!($cname),
                meaning: $meaning,
                era: $crate::codes::Era::$era,
            }, )*
        ];

        impl $name {
            /// The table row for this value, preferring the current era.
            pub fn info(self) -> Option<&'static $crate::codes::CodeInfo<$ty>> {
                $crate::codes::lookup($table, self.0)
            }
            /// The row for this value in a given era, if that era defines it.
            pub fn info_in(self, era: $crate::codes::Era) -> Option<&'static $crate::codes::CodeInfo<$ty>> {
                $table.iter().find(|row| row.value == self.0 && row.era == era)
            }
            /// The kernel name, if the value is known.
            pub fn name(self) -> Option<&'static str> {
                self.info().map(|row| row.name)
            }
            /// The one-line meaning, if the value is known.
            pub fn meaning(self) -> Option<&'static str> {
                self.info().map(|row| row.meaning)
            }
            /// True when the value is in the table.
            pub fn is_known(self) -> bool {
                self.info().is_some()
            }
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> $ty {
                v.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($name), "({} / 0x{:0", $width, "x})"), self.0, self.0),
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, concat!("{}(0x{:0", $width, "x})"), n, self.0),
                    None => write!(f, concat!(stringify!($name), "(0x{:0", $width, "x})"), self.0),
                }
            }
        }

        impl core::str::FromStr for $name {
            type Err = $crate::codes::UnknownName;
            /// Accepts a kernel name (any case, with or without the kernel prefix) or a number
            /// (decimal or `0x` hex).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::codes::parse_name($table, s).map($name).ok_or($crate::codes::UnknownName)
            }
        }

        $crate::codes::code_points!(@serialize $ser $name $width);
    };
    (@serialize name $name:ident $width:literal) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_u64(u64::from(self.0)),
                }
            }
        }
    };
    (@serialize full $name:ident $width:literal) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut st = s.serialize_struct(stringify!($name), 4)?;
                st.serialize_field("value", &self.0)?;
                st.serialize_field("hex", &format_args!(concat!("0x{:0", $width, "x}"), self.0))?;
                st.serialize_field("name", &self.name())?;
                st.serialize_field("meaning", &self.meaning())?;
                st.end()
            }
        }
    };
}
pub(crate) use code_points;

/// A name that no table row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownName;

impl core::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("unknown code name or number")
    }
}

impl std::error::Error for UnknownName {}

/// Looks a value up, preferring the current era's row.
pub(crate) fn lookup<T: Copy + PartialEq>(
    table: &'static [CodeInfo<T>],
    v: T,
) -> Option<&'static CodeInfo<T>> {
    let mut found = None;
    for row in table.iter().filter(|row| row.value == v) {
        if row.era == Era::Current {
            return Some(row);
        }
        found = found.or(Some(row));
    }
    found
}

/// Parses a name or a number against a table.
pub(crate) fn parse_name<T>(table: &'static [CodeInfo<T>], s: &str) -> Option<T>
where
    T: Copy + TryFrom<u64>,
{
    let s = s.trim();
    let number = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(&hex.replace('_', ""), 16).ok()
    } else {
        s.parse::<u64>().ok()
    };
    if let Some(n) = number {
        return T::try_from(n).ok();
    }
    let bare = ["SMC_CLC_DECL_", "SMC_LLC_DEL_", "SMC_LLC_", "SMC_"]
        .iter()
        .find_map(|p| {
            s.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| &s[p.len()..])
        })
        .unwrap_or(s);
    table
        .iter()
        .filter(|row| row.era == Era::Current)
        .chain(table.iter().filter(|row| row.era != Era::Current))
        .find(|row| row.name.eq_ignore_ascii_case(bare))
        .map(|row| row.value)
}

/// True when a table is sorted by (value, era) with no duplicate pair; used by each table's test.
pub fn is_sorted_unique<T: Copy + PartialOrd>(table: &[CodeInfo<T>]) -> bool {
    table
        .windows(2)
        .all(|w| w[0].value < w[1].value || (w[0].value == w[1].value && w[0].era < w[1].era))
}
