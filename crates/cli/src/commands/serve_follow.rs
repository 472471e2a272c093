//! `cascade serve --follow-aave-v3 RPC ADDR` (docs/serve-follow.md): the flags, and the followed
//! market prepared before the service starts. The follower itself is `cascade_serve::follow`.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use cascade_chain::aave::parse_address;
use cascade_serve::follow::{prepare, FollowConfig, Followed};
use cascade_serve::store::Store;

use crate::failure::Failure;

/// Flags of `cascade serve` for following a market on chain.
#[derive(Args, Debug)]
pub struct FollowArgs {
    /// Follow an Aave v3 market on chain: RPC is a JSON-RPC endpoint (http or https), ADDR the
    /// market's PoolAddressesProvider. The first start imports the market at the current block into
    /// DATA/followed/ and serves it; every new block's oracle prices and pool events become events
    /// (docs/serve-follow.md). Not with --snapshot.
    #[arg(long = "follow-aave-v3", num_args = 2, value_names = ["RPC", "ADDR"], conflicts_with = "snapshot")]
    pub follow_aave_v3: Option<Vec<String>>,
    /// With --follow-aave-v3, at the first start: the users are those of the pool's Supply and
    /// Borrow events from this block on.
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0,
        requires = "follow_aave_v3"
    )]
    pub follow_from_block: u64,
    /// With --follow-aave-v3: milliseconds between two looks at the chain's head.
    #[arg(long, value_name = "MS", default_value_t = 250, requires = "follow_aave_v3",
          value_parser = clap::value_parser!(u64).range(10..))]
    pub follow_poll_ms: u64,
    /// With --follow-aave-v3: blocks to stay behind the head (reorganisations shallower than this
    /// are never seen).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "follow_aave_v3"
    )]
    pub follow_confirmations: u64,
    /// With --follow-aave-v3: every followed account is re-read at least once every N blocks,
    /// touched or not, so that accrued interest shows (a share of the accounts each block); 0 re-reads
    /// only the accounts a block touches.
    #[arg(
        long,
        value_name = "N",
        default_value_t = cascade_serve::follow::DEFAULT_REFRESH_BLOCKS,
        requires = "follow_aave_v3"
    )]
    pub follow_refresh_blocks: u64,
}

impl FollowArgs {
    /// The follower's settings, if asked for; `snapshot_in_config`: serve.toml names a snapshot,
    /// which following replaces (refused).
    pub fn config(&self, snapshot_in_config: bool) -> Result<Option<FollowConfig>, Failure> {
        let Some(v) = &self.follow_aave_v3 else {
            return Ok(None);
        };
        let [rpc, addr] = v.as_slice() else {
            return Err(Failure::Input(
                "error: --follow-aave-v3 takes two values: RPC ADDR".into(),
            ));
        };
        if snapshot_in_config {
            return Err(Failure::Input(
                "error: --follow-aave-v3 serves the market it imports; remove `snapshot` from serve.toml"
                    .into(),
            ));
        }
        let provider = parse_address(addr)
            .map_err(|e| Failure::Input(format!("error: --follow-aave-v3 ADDR: {e}")))?;
        if !(rpc.starts_with("http://") || rpc.starts_with("https://")) {
            return Err(Failure::Input(format!(
                "error: --follow-aave-v3 RPC: \"{rpc}\" is not an http(s) URL"
            )));
        }
        let mut c = FollowConfig::new(rpc, provider);
        c.from_block = self.follow_from_block;
        c.poll = Duration::from_millis(self.follow_poll_ms);
        c.confirmations = self.follow_confirmations;
        c.refresh_blocks = self.follow_refresh_blocks;
        Ok(Some(c))
    }
}

/// The followed market of `data` (imported now at the first start).
pub fn prepare_followed(
    cfg: &FollowConfig,
    data: &Path,
    store: &mut Store,
) -> Result<Followed, Failure> {
    prepare(cfg, data, store, &mut |line| {
        eprintln!("cascade serve: {line}")
    })
    .map_err(|e| {
        if e.is_usage() {
            Failure::Input(format!("error: {e}"))
        } else {
            Failure::Runtime(anyhow::Error::new(e))
        }
    })
}
