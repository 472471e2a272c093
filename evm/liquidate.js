// liquidate.js: executes Pool.liquidationCall from the funded liquidator
// account and reports what moved, in raw token units (decimal strings).
//
//   COLLATERAL=WETH DEBT=USDC USER=<address or users[] index> DEBT_TO_COVER=<raw units|max> \
//   EVM_PORT=8545 node liquidate.js
//
// Optional: RECEIVE_A_TOKEN=true (default false), LIQUIDATOR=<unlocked address>
// (default addresses.json accounts.liquidator), TIMESTAMP=<unix seconds> (default:
// the latest block's timestamp, i.e. frozen time).
"use strict";

const L = require("./lib");
const { ethers } = L;

const PCT = 10000n;
const percentMul = (v, p) => (v * p + PCT / 2n) / PCT;
const percentDiv = (v, p) => (v * PCT + p / 2n) / p;

async function main() {
  const addrs = L.loadAddresses();
  const coll = L.reserveBySymbol(addrs, L.env("COLLATERAL"));
  const debt = L.reserveBySymbol(addrs, L.env("DEBT"));
  const user = L.resolveUser(addrs, L.env("USER"));
  const toCoverArg = L.env("DEBT_TO_COVER");
  const receiveAToken = L.env("RECEIVE_A_TOKEN", "false") === "true";
  const liquidator = ethers.utils.getAddress(L.env("LIQUIDATOR", addrs.accounts.liquidator));
  const debtToCover = toCoverArg === "max" ? L.MAX_UINT256 : ethers.BigNumber.from(toCoverArg);

  const prov = L.provider();
  const pool = L.contract("Pool", addrs.aave.Pool, liquidator);
  const oracle = L.contract("AaveOracle", addrs.aave.AaveOracle);
  const dp = L.contract("AaveProtocolDataProvider", addrs.aave.PoolDataProvider);
  const collToken = L.contract("TestnetERC20", coll.underlying, liquidator);
  const debtToken = L.contract("TestnetERC20", debt.underlying, liquidator);
  const aColl = L.contract("AToken", coll.aToken);
  const vDebt = L.contract("VariableDebtToken", debt.variableDebtToken);
  const sDebt = L.contract("VariableDebtToken", debt.stableDebtToken); // balanceOf only
  const treasury = await aColl.RESERVE_TREASURY_ADDRESS();

  const clock = await L.postPinClock();

  // make sure the liquidator can pay (and has approved the pool)
  const preBlock = await prov.getBlock("latest");
  const userDebtNow = (await vDebt.balanceOf(user, { blockTag: preBlock.number })).add(
    await sDebt.balanceOf(user, { blockTag: preBlock.number })
  );
  const need = toCoverArg === "max" ? userDebtNow : debtToCover;
  const have = await debtToken.balanceOf(liquidator, { blockTag: preBlock.number });
  if (have.lt(need)) {
    const faucet = L.contract("Faucet", addrs.aave.faucet, liquidator);
    const unit = ethers.BigNumber.from(10).pow(debt.decimals);
    const whole = need.sub(have).div(unit).add(1);
    await clock.send(() => faucet.mint(debt.underlying, liquidator, whole.mul(unit)), "faucet top-up");
  }
  const allowance = await debtToken.allowance(liquidator, addrs.aave.Pool);
  if (allowance.lt(need)) {
    await clock.send(() => debtToken.approve(addrs.aave.Pool, L.MAX_UINT256), "approve debt asset");
  }

  const before = await prov.getBlock("latest");
  const snap = async (blockTag) => {
    const t = { blockTag };
    const acct = await L.contract("Pool", addrs.aave.Pool).getUserAccountData(user, t);
    return {
      liqDebt: await debtToken.balanceOf(liquidator, t),
      liqColl: await collToken.balanceOf(liquidator, t),
      liqACollat: await aColl.balanceOf(liquidator, t),
      treasuryAColl: await aColl.balanceOf(treasury, t),
      userAColl: await aColl.balanceOf(user, t),
      userDebt: (await vDebt.balanceOf(user, t)).add(await sDebt.balanceOf(user, t)),
      userHF: acct.healthFactor,
    };
  };
  const s0 = await snap(before.number);

  const rc = await clock.send(
    () => pool.liquidationCall(coll.underlying, debt.underlying, user, debtToCover, receiveAToken),
    "liquidationCall"
  );
  const block = await prov.getBlock(rc.blockNumber);
  const s1 = await snap(block.number);

  const iface = new ethers.utils.Interface(L.artifact("Pool").abi);
  const ev = rc.logs
    .filter((l) => l.address.toLowerCase() === addrs.aave.Pool.toLowerCase())
    .map((l) => {
      try {
        return iface.parseLog(l);
      } catch (_) {
        return null;
      }
    })
    .find((x) => x && x.name === "LiquidationCall");
  if (!ev) throw new Error("no LiquidationCall event in the receipt");

  const debtRepaid = s0.liqDebt.sub(s1.liqDebt);
  const collateralReceived = receiveAToken
    ? s1.liqACollat.sub(s0.liqACollat)
    : s1.liqColl.sub(s0.liqColl);
  const protocolFee = s1.treasuryAColl.sub(s0.treasuryAColl);
  const userCollateralDecrease = s0.userAColl.sub(s1.userAColl);
  const userDebtDecrease = s0.userDebt.sub(s1.userDebt);

  // Independent recomputation with LiquidationLogic's formulas (v3.0 line),
  // from the actual debt repaid and the prices at the block.
  const pColl = BigInt((await oracle.getAssetPrice(coll.underlying, { blockTag: block.number })).toString());
  const pDebt = BigInt((await oracle.getAssetPrice(debt.underlying, { blockTag: block.number })).toString());
  const cfg = await dp.getReserveConfigurationData(coll.underlying, { blockTag: block.number });
  let bonus = BigInt(cfg.liquidationBonus.toString());
  const userEMode = (await pool.getUserEMode(user, { blockTag: before.number })).toNumber();
  const collEMode = (await dp.getReserveEModeCategory(coll.underlying, { blockTag: before.number })).toNumber();
  if (userEMode !== 0 && userEMode === collEMode) {
    bonus = BigInt((await pool.getEModeCategoryData(userEMode)).liquidationBonus);
  }
  const feePct = BigInt((await dp.getLiquidationProtocolFee(coll.underlying, { blockTag: block.number })).toString());
  const cu = 10n ** BigInt(coll.decimals);
  const du = 10n ** BigInt(debt.decimals);
  const repaid = BigInt(debtRepaid.toString());
  let collateralAmount = percentMul((pDebt * repaid * cu) / (pColl * du), bonus);
  const userColl = BigInt(s0.userAColl.toString());
  if (collateralAmount > userColl) collateralAmount = userColl;
  const bonusCollateral = collateralAmount - percentDiv(collateralAmount, bonus);
  const expFee = percentMul(bonusCollateral, feePct);
  const expected = {
    collateralToLiquidator: (collateralAmount - expFee).toString(),
    protocolFee: expFee.toString(),
    liquidationBonusBps: bonus.toString(),
    liquidationProtocolFeeBps: feePct.toString(),
  };
  const absDiff = (a, b) => {
    const d = BigInt(a.toString()) - BigInt(b.toString());
    return d < 0n ? -d : d;
  };

  L.printJson({
    user,
    collateralAsset: coll.symbol,
    debtAsset: debt.symbol,
    liquidator,
    treasury,
    receiveAToken,
    debtToCoverRequested: toCoverArg === "max" ? "max" : debtToCover.toString(),
    debtRepaid: debtRepaid.toString(),
    collateralReceived: collateralReceived.toString(),
    protocolFee: protocolFee.toString(),
    event: {
      debtToCover: ev.args.debtToCover.toString(),
      liquidatedCollateralAmount: ev.args.liquidatedCollateralAmount.toString(),
    },
    user_before: {
      collateralATokenBalance: s0.userAColl.toString(),
      debtBalance: s0.userDebt.toString(),
      healthFactor: s0.userHF.toString(),
    },
    user_after: {
      collateralATokenBalance: s1.userAColl.toString(),
      debtBalance: s1.userDebt.toString(),
      healthFactor: s1.userHF.toString(),
    },
    prices: { collateral: pColl.toString(), debt: pDebt.toString() },
    expected,
    checks: {
      debtRepaidEqualsEvent: debtRepaid.eq(ev.args.debtToCover),
      collateralReceivedEqualsEvent: collateralReceived.eq(ev.args.liquidatedCollateralAmount),
      // aToken balances are scaled by the liquidity index: allow a few wei of rounding
      userCollateralDecreaseMinusReceivedMinusFee: (
        BigInt(userCollateralDecrease.toString()) -
        BigInt(collateralReceived.toString()) -
        BigInt(protocolFee.toString())
      ).toString(),
      userDebtDecreaseMinusRepaid: (BigInt(userDebtDecrease.toString()) - repaid).toString(),
      collateralVsExpectedAbsDiff: absDiff(collateralReceived, expected.collateralToLiquidator).toString(),
      feeVsExpectedAbsDiff: absDiff(protocolFee, expected.protocolFee).toString(),
      protocolFeePositive: protocolFee.gt(0),
    },
    block: { number: block.number, timestamp: block.timestamp, hash: block.hash },
    gasUsed: rc.gasUsed.toString(),
  });
}

L.run(main);
