//! Checkpoints of the live state's mutable part (docs/serve-live.md#checkpoints): the exogenous
//! prices, the accounts and their positions, the last applied event. Everything else (assets,
//! protocols, derivatives) is the snapshot's, given again on restart.
//!
//! Format, little-endian throughout:
//!
//! ```text
//! magic "CASCLIVE" · version u32 (1)
//! assets u32 · per asset: id (u32 length + UTF-8) · protocols u32 · per protocol: id
//! seq u64 · updated_at_ms i64
//! per asset: exogenous price f64 (the issued and derived kinds' slots are written, not read)
//! accounts u32 · per account: protocol u32 · id · emode u16 · vault_type u16 (0xFFFF: none) · margin_mode u8
//! per account: positions u32 · per position: asset u32 · side u8 (0 collateral, 1 debt) · tokens f64
//! checksum u64 (FNV-1a of everything before it)
//! ```

use cascade_model::{Accounts, MarginMode, Positions, Side, Snapshot};

use super::pricing::{resolve_lp_supply, Pricing};
use super::{check, Live, LiveError};

const MAGIC: &[u8; 8] = b"CASCLIVE";
/// The checkpoint format's version.
pub const CHECKPOINT_VERSION: u32 = 1;
const NONE_U16: u16 = u16::MAX;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn bad(m: impl Into<String>) -> LiveError {
    LiveError::Checkpoint(m.into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], LiveError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(e) => {
                let s = &self.bytes[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => Err(bad(format!(
                "{what} at byte {}: found the end of the data, expected {n} more bytes",
                self.at
            ))),
        }
    }
    fn arr<const N: usize>(&mut self, what: &str) -> Result<[u8; N], LiveError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, LiveError> {
        Ok(self.arr::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, LiveError> {
        Ok(u16::from_le_bytes(self.arr(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, LiveError> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, LiveError> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    fn f64(&mut self, what: &str) -> Result<f64, LiveError> {
        Ok(f64::from_le_bytes(self.arr(what)?))
    }
    fn str(&mut self, what: &str) -> Result<&'a str, LiveError> {
        let n = self.u32(what)? as usize;
        let at = self.at;
        std::str::from_utf8(self.take(n, what)?)
            .map_err(|_| bad(format!("{what} at byte {at}: not UTF-8")))
    }
    /// A count of items of at least `min_size` bytes each, bounded by what is left.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize, LiveError> {
        let n = self.u32(what)? as usize;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_size) > left {
            return Err(bad(format!(
                "{what}: found {n}, more than the {left} bytes left can hold"
            )));
        }
        Ok(n)
    }
}

impl Live {
    /// A checkpoint of the mutable state (module doc of `checkpoint`): compact, little-endian, with
    /// a version header and a checksum. Restore it with [`Live::from_bytes`] and the same snapshot.
    pub fn to_bytes(&self) -> Vec<u8> {
        let total: usize = self.book.len.iter().map(|&l| l as usize).sum();
        let mut w = Writer(Vec::with_capacity(
            64 + self.accounts.len() * 32 + total * 13,
        ));
        w.0.extend_from_slice(MAGIC);
        w.u32(CHECKPOINT_VERSION);
        w.u32(self.base.assets.len() as u32);
        self.base.assets.iter().for_each(|a| w.str(&a.id));
        w.u32(self.base.protocols.len() as u32);
        self.base.protocols.iter().for_each(|p| w.str(&p.id));
        w.u64(self.seq);
        w.u64(self.updated_at_ms as u64);
        self.pricing.base.iter().for_each(|&p| w.f64(p));
        let acc = &self.accounts;
        w.u32(acc.len() as u32);
        for k in 0..acc.len() {
            w.u32(acc.protocol[k]);
            w.str(&acc.id[k]);
            w.u16(acc.emode[k].unwrap_or(NONE_U16));
            w.u16(acc.vault_type[k].unwrap_or(NONE_U16));
            let m = MarginMode::ALL
                .iter()
                .position(|&m| m == acc.margin_mode[k])
                .unwrap_or(0);
            w.u8(m as u8);
        }
        for k in 0..acc.len() {
            w.u32(self.book.len[k]);
            for i in self.book.slots(k) {
                w.u32(self.book.asset[i]);
                w.u8(match self.book.side[i] {
                    Side::Collateral => 0,
                    Side::Debt => 1,
                });
                w.f64(self.book.amount[i]);
            }
        }
        let sum = fnv1a(&w.0);
        w.u64(sum);
        w.0
    }

    /// The state of a checkpoint written by [`Live::to_bytes`], over `snapshot_base`: the
    /// snapshot the state was first built from (or a later [`Live::snapshot`] of it). Its assets and
    /// protocols must be the checkpoint's, and its accounts the first of the checkpoint's. Default
    /// LP supplies are resolved at `snapshot_base`'s prices, as [`Live::new`] did.
    pub fn from_bytes(snapshot_base: &Snapshot, bytes: &[u8]) -> Result<Live, LiveError> {
        if bytes.len() < MAGIC.len() + 12 {
            return Err(bad(format!(
                "found {} bytes, expected a checkpoint (at least {})",
                bytes.len(),
                MAGIC.len() + 12
            )));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let mut sum = [0u8; 8];
        sum.copy_from_slice(tail);
        if !body.starts_with(MAGIC) {
            return Err(bad("not a live-state checkpoint (no \"CASCLIVE\" header)"));
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        let version = r.u32("version")?;
        if version != CHECKPOINT_VERSION {
            return Err(bad(format!(
                "version: found {version}, expected {CHECKPOINT_VERSION}"
            )));
        }
        if u64::from_le_bytes(sum) != fnv1a(body) {
            return Err(bad("checksum mismatch: the checkpoint is damaged"));
        }
        let base = snapshot_base;
        check(base)?;
        let n = r.count("assets", 4)?;
        if n != base.assets.len() {
            return Err(bad(format!(
                "assets: found {n}, the snapshot has {}",
                base.assets.len()
            )));
        }
        for a in &base.assets {
            let id = r.str("asset id")?;
            if id != a.id {
                return Err(bad(format!(
                    "asset: found \"{id}\", the snapshot has \"{}\" there",
                    a.id
                )));
            }
        }
        let n_p = r.count("protocols", 4)?;
        if n_p != base.protocols.len() {
            return Err(bad(format!(
                "protocols: found {n_p}, the snapshot has {}",
                base.protocols.len()
            )));
        }
        for p in &base.protocols {
            let id = r.str("protocol id")?;
            if id != p.id {
                return Err(bad(format!(
                    "protocol: found \"{id}\", the snapshot has \"{}\" there",
                    p.id
                )));
            }
        }
        let seq = r.u64("seq")?;
        let updated_at_ms = r.u64("updated_at_ms")? as i64;
        let mut prices = Vec::with_capacity(n);
        for a in &base.assets {
            let p = r.f64("price")?;
            if a.kind.is_exogenous() && !(p.is_finite() && p >= 0.0) {
                return Err(bad(format!(
                    "price of \"{}\": found {p}, expected a finite number ≥ 0",
                    a.id
                )));
            }
            prices.push(p);
        }
        let n_acc = r.count("accounts", 13)?;
        if n_acc < base.accounts.len() {
            return Err(bad(format!(
                "accounts: found {n_acc}, the snapshot has {}: the checkpoint is not of this snapshot",
                base.accounts.len()
            )));
        }
        let mut accounts = Accounts::default();
        accounts.reserve(n_acc);
        for k in 0..n_acc {
            let p = r.u32("account protocol")? as usize;
            let id = r.str("account id")?;
            if p >= n_p {
                return Err(bad(format!(
                    "account {k} (\"{id}\"): protocol index {p}, expected below {n_p}"
                )));
            }
            if k < base.accounts.len()
                && (base.accounts.protocol[k] as usize != p || &base.accounts.id[k] != id)
            {
                return Err(bad(format!(
                    "account {k}: found \"{id}\" of \"{}\", the snapshot has \"{}\" of \"{}\"",
                    base.protocols[p].id,
                    &base.accounts.id[k],
                    base.protocols
                        .get(base.accounts.protocol[k] as usize)
                        .map_or("?", |x| x.id.as_str())
                )));
            }
            if accounts.get_or_insert(p, id) as usize != k {
                return Err(bad(format!(
                    "account {k}: \"{id}\" of \"{}\" appears twice",
                    base.protocols[p].id
                )));
            }
            let emode = r.u16("emode")?;
            let vt = r.u16("vault_type")?;
            let m = r.u8("margin_mode")? as usize;
            accounts.emode[k] = (emode != NONE_U16).then_some(emode);
            accounts.vault_type[k] = (vt != NONE_U16).then_some(vt);
            accounts.margin_mode[k] = *MarginMode::ALL.get(m).ok_or_else(|| {
                bad(format!(
                    "account {k}: margin mode {m}, expected below {}",
                    MarginMode::ALL.len()
                ))
            })?;
        }
        let mut positions = Positions::default();
        for k in 0..n_acc {
            let c = r.count("positions", 13)?;
            for _ in 0..c {
                let a = r.u32("position asset")?;
                let side = match r.u8("position side")? {
                    0 => Side::Collateral,
                    1 => Side::Debt,
                    x => {
                        return Err(bad(format!(
                            "account {k}: position side {x}, expected 0 or 1"
                        )))
                    }
                };
                let t = r.f64("position tokens")?;
                if a as usize >= n || !(t.is_finite() && t >= 0.0) {
                    return Err(bad(format!(
                        "account {k}: position of asset {a} with {t} tokens, expected an asset below {n} and a finite amount ≥ 0"
                    )));
                }
                positions.push(k as u32, a as usize, side, t);
            }
        }
        if r.at != body.len() {
            return Err(bad(format!(
                "found {} bytes after the last position",
                body.len() - r.at
            )));
        }
        let protocols = resolve_lp_supply(base);
        let mut pricing = Pricing::new(base, &protocols);
        for (a, asset) in base.assets.iter().enumerate() {
            if asset.kind.is_exogenous() {
                pricing.set(a, prices[a]);
            }
        }
        pricing.derive();
        let s = Snapshot {
            name: base.name.clone(),
            source: base.source.clone(),
            assets: base.assets.clone(),
            correlations: base.correlations.clone(),
            protocols: base.protocols.clone(),
            accounts,
            positions,
            perps: base.perps.clone(),
            options: base.options.clone(),
        };
        check(&s)?;
        let mut live = Live::assemble(s, protocols, pricing);
        live.seq = seq;
        live.updated_at_ms = updated_at_ms;
        Ok(live)
    }
}
