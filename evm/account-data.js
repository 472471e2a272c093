// account-data.js: Pool.getUserAccountData for every populated user, read at
// one block (default: the latest block, which is the pinned block or the block
// of the last harness action; BLOCK=<number> to pick another). All values are
// decimal strings: *Base values in the oracle's base currency (USD, 8 decimals),
// currentLiquidationThreshold and ltv in basis points, healthFactor in WAD (1e18).
//
//   EVM_PORT=8545 node account-data.js        (or npx hardhat run ... --network local)
"use strict";

const L = require("./lib");

async function main() {
  const addrs = L.loadAddresses();
  const prov = L.provider();
  const block = await prov.getBlock(process.env.BLOCK ? Number(process.env.BLOCK) : "latest");
  const pool = L.contract("Pool", addrs.aave.Pool);
  const tag = { blockTag: block.number };
  const users = [];
  for (const u of addrs.users) {
    const d = await pool.getUserAccountData(u.address, tag);
    const emode = await pool.getUserEMode(u.address, tag);
    users.push({
      index: u.index,
      address: u.address,
      label: u.label,
      eMode: emode.toString(),
      totalCollateralBase: d.totalCollateralBase.toString(),
      totalDebtBase: d.totalDebtBase.toString(),
      availableBorrowsBase: d.availableBorrowsBase.toString(),
      currentLiquidationThreshold: d.currentLiquidationThreshold.toString(),
      ltv: d.ltv.toString(),
      healthFactor: d.healthFactor.toString(),
    });
  }
  L.printJson({ block: { number: block.number, timestamp: block.timestamp, hash: block.hash }, users });
}

L.run(main);
