// swap.js: swaps on the Uniswap v2 pair or the v3 pool created by populate.js
// and prints the amounts and the pool state after the swap.
//
//   POOL=v2|v3 TOKEN_IN=WETH|USDC AMOUNT_IN=<raw units> EVM_PORT=8545 node swap.js
//
// v2: the exact-input amount out is computed with the pair's formula
// (0.3% fee) and the swap is done the low-level way: transfer tokenIn to the
// pair, then pair.swap(...) (no router deployed). v3: SwapRouter.exactInputSingle.
// Optional: TRADER=<unlocked address> (default accounts.swapper; topped up from
// the faucet when short), TIMESTAMP=<unix seconds> (default: frozen at latest).
"use strict";

const L = require("./lib");
const { ethers } = L;

async function main() {
  const addrs = L.loadAddresses();
  const which = L.env("POOL").toLowerCase();
  if (which !== "v2" && which !== "v3") throw new Error(`POOL must be v2 or v3, got ${which}`);
  const rin = L.reserveBySymbol(addrs, L.env("TOKEN_IN"));
  const amountIn = ethers.BigNumber.from(L.env("AMOUNT_IN"));
  if (amountIn.lte(0)) throw new Error("AMOUNT_IN must be > 0");
  const u = addrs.uniswap[which];
  const t0 = ethers.utils.getAddress(u.token0);
  const t1 = ethers.utils.getAddress(u.token1);
  const zeroForOne = rin.underlying.toLowerCase() === t0.toLowerCase();
  if (!zeroForOne && rin.underlying.toLowerCase() !== t1.toLowerCase()) {
    throw new Error(`${rin.symbol} is not in the ${which} pool`);
  }
  const tokenOutAddr = zeroForOne ? t1 : t0;
  const rout = L.reserveBySymbol(addrs, tokenOutAddr);
  const trader = ethers.utils.getAddress(L.env("TRADER", addrs.accounts.swapper));
  const prov = L.provider();
  const tin = L.contract("TestnetERC20", rin.underlying, trader);
  const tout = L.contract("TestnetERC20", rout.underlying, trader);
  const clock = await L.postPinClock();

  const bal = await tin.balanceOf(trader);
  if (bal.lt(amountIn)) {
    const unit = ethers.BigNumber.from(10).pow(rin.decimals);
    const whole = amountIn.sub(bal).div(unit).add(1);
    const faucet = L.contract("Faucet", addrs.aave.faucet, trader);
    await clock.send(() => faucet.mint(rin.underlying, trader, whole.mul(unit)), "faucet top-up");
  }
  const inBefore = await tin.balanceOf(trader);
  const outBefore = await tout.balanceOf(trader);

  let result;
  if (which === "v2") {
    const pair = L.contract("UniswapV2Pair", u.pair, trader);
    const r = await pair.getReserves();
    const [rIn, rOut] = zeroForOne ? [r[0], r[1]] : [r[1], r[0]];
    const inWithFee = amountIn.mul(997);
    const amountOut = inWithFee.mul(rOut).div(rIn.mul(1000).add(inWithFee));
    if (amountOut.isZero()) throw new Error("amount out would be zero");
    await clock.send(() => tin.transfer(u.pair, amountIn), "transfer tokenIn to pair");
    const rc = await clock.send(
      () => pair.swap(zeroForOne ? 0 : amountOut, zeroForOne ? amountOut : 0, trader, "0x"),
      "pair.swap"
    );
    const after = await pair.getReserves({ blockTag: rc.blockNumber });
    result = {
      rc,
      poolBefore: { reserve0: r[0].toString(), reserve1: r[1].toString() },
      poolAfter: { reserve0: after[0].toString(), reserve1: after[1].toString(), blockTimestampLast: after[2] },
      quotedAmountOut: amountOut.toString(),
    };
  } else {
    const pool = L.contract("UniswapV3Pool", u.pool);
    const router = L.contract("SwapRouter", u.swapRouter, trader);
    const allowance = await tin.allowance(trader, u.swapRouter);
    if (allowance.lt(amountIn)) {
      await clock.send(() => tin.approve(u.swapRouter, L.MAX_UINT256), "approve router");
    }
    const s0 = await pool.slot0();
    const liq0 = await pool.liquidity();
    const params = {
      tokenIn: rin.underlying,
      tokenOut: rout.underlying,
      fee: u.fee,
      recipient: trader,
      deadline: 4294967295,
      amountIn,
      amountOutMinimum: 0,
      sqrtPriceLimitX96: 0,
    };
    const rc = await clock.send(() => router.exactInputSingle(params), "SwapRouter.exactInputSingle");
    const tag = { blockTag: rc.blockNumber };
    const s1 = await pool.slot0(tag);
    result = {
      rc,
      poolBefore: { sqrtPriceX96: s0.sqrtPriceX96.toString(), tick: s0.tick, liquidity: liq0.toString() },
      poolAfter: {
        sqrtPriceX96: s1.sqrtPriceX96.toString(),
        tick: s1.tick,
        liquidity: (await pool.liquidity(tag)).toString(),
      },
    };
  }
  const block = await prov.getBlock(result.rc.blockNumber);
  const tag = { blockTag: block.number };
  const paid = inBefore.sub(await tin.balanceOf(trader, tag));
  const got = (await tout.balanceOf(trader, tag)).sub(outBefore);
  L.printJson({
    pool: which,
    address: which === "v2" ? u.pair : u.pool,
    trader,
    tokenIn: rin.symbol,
    tokenOut: rout.symbol,
    zeroForOne,
    amountIn: paid.toString(),
    amountOut: got.toString(),
    ...(result.quotedAmountOut ? { quotedAmountOut: result.quotedAmountOut } : {}),
    poolBefore: result.poolBefore,
    poolAfter: result.poolAfter,
    block: { number: block.number, timestamp: block.timestamp, hash: block.hash },
    gasUsed: result.rc.gasUsed.toString(),
  });
}

L.run(main);
