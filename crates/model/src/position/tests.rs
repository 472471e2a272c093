use super::*;
use crate::asset::{Asset, AssetKind, CurveSpec, Liquidity};
use crate::derivatives::{
    AssetWeight, ClearinghouseParams, LossMode, OptionsParams, OracleSpec, PerpMarket, SmileSpec,
};
use crate::protocol::{
    Breakers, BridgeParams, CdpParams, LendingParams, Protocol, Reserve, VaultType,
};

fn asset(id: &str, kind: AssetKind) -> Asset {
    Asset {
        bridge_loss: 0.0,
        issuer: None,
        discount: 1.0,
        rate: 1.0,
        underlying: None,
        volatility: 0.0,
        price: Some(1.0),
        kind,
        id: id.into(),
        liquidity: Liquidity {
            curve: CurveSpec::PowerLaw {
                adv_usd: 1.0,
                k: 0.0,
                alpha: 1.0,
            },
            quote_asset: None,
            pool: None,
        },
        line: 0,
    }
}

fn protocol(id: &str, kind: ProtocolKind, params: ProtocolParams) -> Protocol {
    Protocol {
        id: id.into(),
        kind,
        insurance_fund: Vec::new(),
        breakers: Breakers::default(),
        params,
        line: 0,
    }
}

fn reserve(asset: usize, collateral_enabled: bool, borrowable: bool) -> Reserve {
    Reserve {
        liquidation_protocol_fee: 0.0,
        asset,
        ltv: 0.8,
        liquidation_threshold: 0.85,
        liquidation_bonus: 0.05,
        reserve_factor: 0.0,
        supply_cap: None,
        borrow_cap: None,
        collateral_enabled,
        borrowable,
        debt_ceiling_usd: None,
        supplied: None,
        diversification_cap: None,
        line: 0,
    }
}

const ETH: usize = 0;
const USDC: usize = 1;
const DAI: usize = 2;
const WBTC: usize = 3;

/// Assets ETH, USDC, DAI (a CDP's stable), WBTC; protocols: `lend` (ETH collateral and
/// borrowable; USDC borrowable, not collateral; DAI collateral, not borrowable), `maker` (ETH-A
/// vaults owing DAI), `perps` (USDC collateral, ETH liability, market ETH-PERP, an ETH smile),
/// `bridge`.
fn snapshot() -> Snapshot {
    let weight = |asset, w| AssetWeight {
        asset,
        initial_weight: w,
        maintenance_weight: w,
        line: 0,
    };
    Snapshot {
        assets: vec![
            asset("ETH", AssetKind::Native),
            asset("USDC", AssetKind::Stable),
            asset("DAI", AssetKind::CdpStable),
            asset("WBTC", AssetKind::Native),
        ],
        protocols: vec![
            protocol(
                "lend",
                ProtocolKind::Lending,
                ProtocolParams::Lending(LendingParams {
                    close_factor: 0.5,
                    close_factor_full_below_hf: 0.95,
                    full_close_factor: 1.0,
                    liquidator_cost_usd: 0.0,
                    liquidators_buy_debt: false,
                    health_factor_rule: Default::default(),
                    liquidation_rules: Default::default(),
                    diversification_cap: None,
                    liquidation_mechanism: Default::default(),
                    mechanism: Default::default(),
                    reserves: vec![
                        reserve(ETH, true, true),
                        reserve(USDC, false, true),
                        reserve(DAI, true, false),
                    ],
                    emode: Vec::new(),
                }),
            ),
            protocol(
                "maker",
                ProtocolKind::Cdp,
                ProtocolParams::Cdp(CdpParams {
                    stable: DAI,
                    surplus_buffer_usd: 0.0,
                    auction_efficiency: 1.0,
                    zero_bid_when_illiquid: false,
                    psm: None,
                    vault_types: vec![VaultType {
                        id: "ETH-A".into(),
                        collateral: ETH,
                        liquidation_ratio: 1.45,
                        liquidation_penalty: 0.13,
                        debt_ceiling: None,
                        dust: 0.0,
                        line: 0,
                    }],
                }),
            ),
            protocol(
                "perps",
                ProtocolKind::Clearinghouse,
                ProtocolParams::Clearinghouse(ClearinghouseParams {
                    collateral: vec![weight(USDC, 1.0)],
                    liabilities: vec![weight(ETH, 1.1)],
                    markets: vec![PerpMarket {
                        id: "ETH-PERP".into(),
                        underlying: ETH,
                        imr: 0.1,
                        mmr: 0.05,
                        liquidation_fee: 0.0,
                        imf_factor: 0.0,
                        oracle: OracleSpec::Spot,
                        line: 0,
                    }],
                    options: OptionsParams {
                        smile: vec![SmileSpec {
                            underlying: ETH,
                            atm: 0.7,
                            skew: 0.0,
                            curvature: 0.0,
                        }],
                        ..OptionsParams::default()
                    },
                    loss_mode: LossMode::Socialise,
                    pnl_initial_weight: 1.0,
                    pnl_maintenance_weight: 1.0,
                    insurance_fee_share: 0.5,
                }),
            ),
            protocol(
                "bridge",
                ProtocolKind::Bridge,
                ProtocolParams::Bridge(BridgeParams {
                    bridged: WBTC,
                    underlying: WBTC,
                    locked: 1.0,
                }),
            ),
        ],
        ..Snapshot::default()
    }
}

#[test]
fn lending_positions_follow_the_reserves() {
    let s = snapshot();
    assert_eq!(s.check_position(0, ETH, Side::Collateral), Ok(None));
    assert_eq!(s.check_position(0, ETH, Side::Debt), Ok(None));
    let w = s
        .check_position(0, USDC, Side::Collateral)
        .unwrap()
        .unwrap();
    assert_eq!(
        w.to_string(),
        "\"USDC\" is not enabled as collateral in \"lend\": the supply counts for nothing in the health factor"
    );
    let e = s.check_position(0, DAI, Side::Debt).unwrap_err();
    assert_eq!(e.to_string(), "\"DAI\" is not borrowable in \"lend\"");
    let e = s.check_position(0, WBTC, Side::Collateral).unwrap_err();
    assert_eq!(
        e,
        PositionError {
            protocol: "lend".into(),
            name: "WBTC".into(),
            rule: PositionRule::NoReserve,
        }
    );
}

#[test]
fn cdp_clearinghouse_and_bridge_positions() {
    let s = snapshot();
    assert_eq!(s.check_position(1, ETH, Side::Collateral), Ok(None));
    assert_eq!(s.check_position(1, DAI, Side::Debt), Ok(None));
    assert_eq!(
        s.check_position(1, USDC, Side::Debt)
            .unwrap_err()
            .to_string(),
        "a vault of \"maker\" owes only its stable \"DAI\""
    );
    assert_eq!(
        s.check_position(1, WBTC, Side::Collateral)
            .unwrap_err()
            .to_string(),
        "protocol \"maker\" has no vault type for collateral \"WBTC\""
    );
    assert_eq!(s.check_position(2, USDC, Side::Collateral), Ok(None));
    assert_eq!(s.check_position(2, ETH, Side::Debt), Ok(None));
    assert_eq!(
        s.check_position(2, ETH, Side::Collateral)
            .unwrap_err()
            .to_string(),
        "\"ETH\" is not accepted as collateral by \"perps\" (no collateral weight)"
    );
    assert_eq!(
        s.check_position(2, USDC, Side::Debt)
            .unwrap_err()
            .to_string(),
        "\"USDC\" is not borrowable in \"perps\" (no liability weight)"
    );
    assert_eq!(
        s.check_position(3, WBTC, Side::Collateral)
            .unwrap_err()
            .to_string(),
        "protocol \"bridge\" is a bridge: it has no accounts"
    );
}

#[test]
fn derivatives_only_in_a_clearinghouse_with_the_market_or_smile() {
    let s = snapshot();
    assert_eq!(s.check_perp(2, "ETH-PERP"), Ok(0));
    assert_eq!(
        s.check_perp(2, "SOL-PERP").unwrap_err().to_string(),
        "unknown market \"SOL-PERP\" in protocol \"perps\"; expected one of its markets: \"ETH-PERP\""
    );
    assert_eq!(
        s.check_perp(0, "ETH-PERP").unwrap_err().to_string(),
        "protocol \"lend\" is of kind \"lending\": only a clearinghouse's accounts hold derivatives"
    );
    assert_eq!(s.check_option(2, ETH), Ok(()));
    assert_eq!(
        s.check_option(2, WBTC).unwrap_err().to_string(),
        "\"WBTC\" has no volatility smile in protocol \"perps\"; expected an underlying with a smile: \"ETH\""
    );
    assert!(s.check_option(1, ETH).is_err());
    assert_eq!(s.check_margin_mode(2), Ok(()));
    assert_eq!(
        s.check_margin_mode(1).unwrap_err().to_string(),
        "protocol \"maker\" is of kind \"cdp\": only a clearinghouse's accounts have a margin mode"
    );
}

#[test]
fn long_name_lists_are_cut_after_twenty() {
    let names: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    let shown = NameList(names).to_string();
    assert!(shown.starts_with("\"m0\", \"m1\""), "{shown}");
    assert!(shown.ends_with("\"m19\", … (25 in all)"), "{shown}");
    assert_eq!(NameList(vec!["a".into()]).to_string(), "\"a\"");
}
