//! A builder for the small systems tests share: it writes snapshot TOML (docs/formats.md#snapshot)
//! and loads it through the one loader, so a fixture is checked exactly as a user's file is.
//!
//! ```
//! use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};
//! let s = System::new()
//!     .eth(2000.0)
//!     .usdc()
//!     .lending("lend", &[ETH_RESERVE, USDC_RESERVE])
//!     .account("a", "lend", &[("ETH", 10.0)], &[("USDC", 15000.0)])
//!     .build();
//! assert_eq!((s.assets.len(), s.protocols.len(), s.accounts.len()), (2, 1, 1));
//! ```

use std::fmt::Write as _;

use cascade_model::Snapshot;

/// A lending reserve: asset, LTV, liquidation threshold, liquidation bonus.
pub type Reserve = (&'static str, f64, f64, f64);

/// ETH as Aave v3 lists it on Ethereum (LTV 80%, LT 82.5%, bonus 5%).
pub const ETH_RESERVE: Reserve = ("ETH", 0.80, 0.825, 0.05);
/// stETH (LTV 78%, LT 81%, bonus 6%).
pub const STETH_RESERVE: Reserve = ("stETH", 0.78, 0.81, 0.06);
/// USDC (LTV 80%, LT 85%, bonus 5%).
pub const USDC_RESERVE: Reserve = ("USDC", 0.80, 0.85, 0.05);

/// A snapshot under construction, as TOML text.
#[derive(Debug, Clone)]
pub struct System {
    text: String,
    /// The price impact `k` of the power-law liquidity given to assets that name none.
    impact: f64,
    /// The `adv_usd` of that power law.
    adv_usd: f64,
}

impl Default for System {
    fn default() -> Self {
        Self::new()
    }
}

/// `{ A = 1.0, B = 2.0 }`.
fn inline_table(amounts: &[(&str, f64)]) -> String {
    let cells: Vec<String> = amounts
        .iter()
        .map(|(a, x)| format!("{a} = {x:?}"))
        .collect();
    format!("{{ {} }}", cells.join(", "))
}

impl System {
    /// An empty system named `"test"`.
    pub fn new() -> Self {
        System {
            text: "name = \"test\"\n".into(),
            impact: 0.0,
            adv_usd: 1.0e9,
        }
    }

    /// Names the system `name` (instead of `"test"`).
    pub fn name(mut self, name: &str) -> Self {
        let end = self.text.find('\n').unwrap_or(self.text.len());
        self.text
            .replace_range(..end, &format!("name = \"{name}\""));
        self
    }

    /// Assets added from now on without a `liquidity` get a power law with this `k` (0: no price
    /// impact; `adv_usd` 1e9 unless [`System::adv`] says otherwise, `alpha` 0.5).
    pub fn impact(mut self, k: f64) -> Self {
        self.impact = k;
        self
    }

    /// Assets added from now on without a `liquidity` get a power law with this `adv_usd`
    /// (1e9 unless set).
    pub fn adv(mut self, adv_usd: f64) -> Self {
        self.adv_usd = adv_usd;
        self
    }

    /// An asset of `kind` with the other fields as TOML lines (`fields`, e.g. `price = 2000.0`).
    pub fn asset(mut self, id: &str, kind: &str, fields: &str) -> Self {
        let _ = writeln!(self.text, "[[asset]]\nid = \"{id}\"\nkind = \"{kind}\"");
        self.lines(fields);
        if !fields.contains("liquidity") {
            let _ = writeln!(
                self.text,
                "liquidity = {{ curve = \"power_law\", adv_usd = {:?}, k = {:?}, alpha = 0.5 }}",
                self.adv_usd, self.impact
            );
        }
        self
    }

    /// ETH, native, at `price` USD.
    pub fn eth(self, price: f64) -> Self {
        self.asset("ETH", "native", &format!("price = {price:?}"))
    }

    /// stETH, a liquid staking token of ETH (priced from it).
    pub fn steth(self) -> Self {
        self.asset("stETH", "lst", "underlying = \"ETH\"")
    }

    /// USDC, a stablecoin at 1 USD.
    pub fn usdc(self) -> Self {
        self.asset("USDC", "stable", "price = 1.0")
    }

    /// A protocol of `kind` with the other fields as TOML lines (`fields`, e.g.
    /// `stable = "DAI"`); its sub-tables follow with [`System::reserve`], [`System::vault_type`],
    /// [`System::market`] or [`System::toml`].
    pub fn protocol(mut self, id: &str, kind: &str, fields: &str) -> Self {
        let _ = writeln!(self.text, "[[protocol]]\nid = \"{id}\"\nkind = \"{kind}\"");
        self.lines(fields);
        self
    }

    /// A lending protocol with `reserves`.
    pub fn lending(self, id: &str, reserves: &[Reserve]) -> Self {
        self.lending_with(id, "", reserves)
    }

    /// A lending protocol with more fields (`fields`, TOML lines such as `insurance_fund = …`) and
    /// `reserves`.
    pub fn lending_with(self, id: &str, fields: &str, reserves: &[Reserve]) -> Self {
        reserves
            .iter()
            .fold(self.protocol(id, "lending", fields), |s, r| {
                s.reserve(*r, "")
            })
    }

    /// A reserve of the last lending protocol, with more fields (`fields`, TOML lines such as
    /// `debt_ceiling = 1.0e6`).
    pub fn reserve(mut self, reserve: Reserve, fields: &str) -> Self {
        let (asset, ltv, lt, bonus) = reserve;
        let _ = writeln!(
            self.text,
            "[[protocol.reserve]]\nasset = \"{asset}\"\nltv = {ltv:?}\nliquidation_threshold = {lt:?}\nliquidation_bonus = {bonus:?}"
        );
        self.lines(fields);
        self
    }

    /// An e-mode category of the last lending protocol: LTV, liquidation threshold and bonus for
    /// `assets`.
    pub fn emode(mut self, id: &str, (ltv, lt, bonus): (f64, f64, f64), assets: &[&str]) -> Self {
        let quoted: Vec<String> = assets.iter().map(|a| format!("\"{a}\"")).collect();
        let _ = writeln!(
            self.text,
            "[[protocol.emode]]\nid = \"{id}\"\nltv = {ltv:?}\nliquidation_threshold = {lt:?}\nliquidation_bonus = {bonus:?}\nassets = [{}]",
            quoted.join(", ")
        );
        self
    }

    /// A CDP protocol issuing `stable`, with more fields (`fields`, TOML lines); vault types follow
    /// with [`System::vault_type`].
    pub fn cdp(self, id: &str, stable: &str, fields: &str) -> Self {
        self.protocol(id, "cdp", &format!("stable = \"{stable}\"\n{fields}"))
    }

    /// A vault type of the last CDP protocol: `collateral`, liquidation ratio and penalty.
    pub fn vault_type(mut self, id: &str, collateral: &str, ratio: f64, penalty: f64) -> Self {
        let _ = writeln!(
            self.text,
            "[[protocol.vault_type]]\nid = \"{id}\"\ncollateral = \"{collateral}\"\nliquidation_ratio = {ratio:?}\nliquidation_penalty = {penalty:?}"
        );
        self
    }

    /// An AMM pool whose LP token is `lp_asset`, with the pool's fields (`fields`, TOML lines:
    /// `invariant`, `reserves`, …).
    pub fn amm(self, id: &str, lp_asset: &str, fields: &str) -> Self {
        self.protocol(id, "amm", &format!("lp_asset = \"{lp_asset}\"\n{fields}"))
    }

    /// A derivatives clearinghouse with its fields (`fields`, TOML lines: `collateral`,
    /// `loss_mode`, …); markets follow with [`System::market`].
    pub fn clearinghouse(self, id: &str, fields: &str) -> Self {
        self.protocol(id, "clearinghouse", fields)
    }

    /// A perpetual market of the last clearinghouse on `underlying`, with more fields (`fields`,
    /// TOML lines: `imr`, `mmr`, …).
    pub fn market(mut self, id: &str, underlying: &str, fields: &str) -> Self {
        let _ = writeln!(
            self.text,
            "[[protocol.market]]\nid = \"{id}\"\nunderlying = \"{underlying}\""
        );
        self.lines(fields);
        self
    }

    /// An account of `protocol` with `collateral` and `debt` in tokens.
    pub fn account(
        self,
        id: &str,
        protocol: &str,
        collateral: &[(&str, f64)],
        debt: &[(&str, f64)],
    ) -> Self {
        self.account_toml(id, protocol, collateral, debt, "")
    }

    /// An account with more fields (`fields`, TOML lines such as `emode = "eth"`, `vault_type = …`
    /// or `perps = […]`).
    pub fn account_toml(
        mut self,
        id: &str,
        protocol: &str,
        collateral: &[(&str, f64)],
        debt: &[(&str, f64)],
        fields: &str,
    ) -> Self {
        let _ = writeln!(
            self.text,
            "[[account]]\nid = \"{id}\"\nprotocol = \"{protocol}\""
        );
        if !collateral.is_empty() {
            let _ = writeln!(self.text, "collateral = {}", inline_table(collateral));
        }
        if !debt.is_empty() {
            let _ = writeln!(self.text, "debt = {}", inline_table(debt));
        }
        self.lines(fields);
        self
    }

    /// Appends `fields`, one trimmed TOML line each, skipping blank ones.
    fn lines(&mut self, fields: &str) {
        for line in fields.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = writeln!(self.text, "{line}");
        }
    }

    /// Any other TOML, appended as is (tables such as `[[protocol.emode]]` follow what they belong to).
    pub fn toml(mut self, text: &str) -> Self {
        self.text.push_str(text.trim_start_matches('\n'));
        if !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self
    }

    /// The snapshot's TOML text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The snapshot, loaded as a user's file is; panics with every finding if it does not load.
    pub fn build(&self) -> Snapshot {
        crate::parse(&self.text)
    }
}
