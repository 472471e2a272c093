// set-price.js: moves one asset's Aave oracle price. Mock aggregators have no
// setter, so this deploys a new MockAggregator answering PRICE and registers it
// with AaveOracle.setAssetSources (as the pool admin). Both transactions are
// mined at a pinned timestamp: the latest block's (time stays frozen; no
// interest accrues) or $TIMESTAMP if given.
//
//   ASSET=WETH PRICE=320000000000 EVM_PORT=8545 node set-price.js
//   (PRICE: USD with 8 decimals, i.e. 3200.00000000 USD above)
"use strict";

const L = require("./lib");

async function main() {
  const addrs = L.loadAddresses();
  const r = L.reserveBySymbol(addrs, L.env("ASSET"));
  const price = L.env("PRICE");
  if (!/^\d+$/.test(price) || BigInt(price) <= 0n) throw new Error(`PRICE must be a positive integer (USD, 8 decimals), got ${price}`);
  const admin = addrs.aave.poolAdmin;
  const oracle = L.contract("AaveOracle", addrs.aave.AaveOracle, admin);
  const before = await L.provider().getBlock("latest");
  const oldPrice = await oracle.getAssetPrice(r.underlying, { blockTag: before.number });
  const oldSource = await oracle.getSourceOfAsset(r.underlying, { blockTag: before.number });

  const clock = await L.postPinClock();
  const agg = await clock.deploy("MockAggregator", admin, [price], `deploy MockAggregator for ${r.symbol}`);
  const rc = await clock.send(() => oracle.setAssetSources([r.underlying], [agg.address]), "AaveOracle.setAssetSources");
  const block = await L.provider().getBlock(rc.blockNumber);
  const newPrice = await oracle.getAssetPrice(r.underlying, { blockTag: block.number });
  if (newPrice.toString() !== price) throw new Error(`oracle reports ${newPrice} after the update, wanted ${price}`);
  L.printJson({
    asset: r.symbol,
    underlying: r.underlying,
    oldPrice: oldPrice.toString(),
    newPrice: newPrice.toString(),
    oldSource,
    newSource: agg.address,
    block: { number: block.number, timestamp: block.timestamp, hash: block.hash },
  });
}

L.run(main);
