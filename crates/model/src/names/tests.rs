use crate::{AmmInvariant, AssetKind, LossMode, MarginMode, OptionType, ProtocolKind, Side};

// A local enumeration, to test the macro apart from the model's (variants on one line).
crate::named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour ("colour") { Red = "red", DarkBlue = "dark_blue", Green = "green", }
}

#[test]
fn names_parse_back_and_display_as_written() {
    assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue, Colour::Green]);
    assert_eq!(Colour::NAMES, ["red", "dark_blue", "green"]);
    assert_eq!("dark_blue".parse::<Colour>(), Ok(Colour::DarkBlue));
    assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
    assert_eq!(Colour::Green.name(), "green");
}

#[test]
fn an_unknown_name_is_a_typed_error_listing_the_names() {
    let e = "Red".parse::<Colour>().unwrap_err();
    assert_eq!(e.what, "colour");
    assert_eq!(e.found, "Red");
    assert_eq!(
        e.to_string(),
        "= \"Red\", expected one of: red, dark_blue, green"
    );
    // Two names read as an alternative.
    let e = "straddle".parse::<OptionType>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "= \"straddle\", expected \"call\" or \"put\""
    );
    assert!("".parse::<Side>().is_err());
}

/// Every model enumeration's names, as the file formats spell them, parse back to their variant.
#[test]
fn the_model_enumerations_round_trip_their_names() {
    fn round_trip<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
        T::Err: std::fmt::Debug,
    {
        for &x in all {
            assert_eq!(x.to_string().parse::<T>().unwrap(), x);
        }
    }
    round_trip(AssetKind::ALL);
    round_trip(ProtocolKind::ALL);
    round_trip(MarginMode::ALL);
    round_trip(OptionType::ALL);
    round_trip(Side::ALL);
    round_trip(LossMode::ALL);
    round_trip(AmmInvariant::ALL);
    assert_eq!(
        AssetKind::NAMES,
        [
            "native",
            "governance",
            "stable",
            "rwa",
            "lst",
            "receipt",
            "lp",
            "bridged",
            "cdp_stable",
            "algostable"
        ]
    );
    assert_eq!(ProtocolKind::Clearinghouse.name(), "clearinghouse");
    assert_eq!(AmmInvariant::StableSwap.name(), "stableswap");
    assert_eq!(LossMode::default().name(), "socialise");
}
