// populate.js: fills the freshly deployed Aave v3 Test market with accounts,
// deploys UiPoolDataProviderV3 and Uniswap v2/v3 pools, pins time, and writes
// $EVM_OUT/addresses.json (EVM_OUT defaults to ./out).
//
//   EVM_PORT=8545 npx hardhat run populate.js --network local
//   (or: EVM_PORT=8545 node populate.js)
//
// Deterministic: every transaction is mined at a fixed timestamp
// (POPULATE_START + n seconds), so two runs on fresh nodes give identical state.
"use strict";

const L = require("./lib");
const { ethers } = L;
const { parseUnits } = ethers.utils;

// Account roles (indices into the node's eth_accounts; hardhat.config.js makes 64).
const ADMIN = 0; // deployer, ACL admin, pool admin, emergency admin
const LIQUIDATOR = 2;
const LP = 3; // Uniswap liquidity provider
const SWAPPER = 4;
const FIRST_USER = 10;

// Isolation: AAVE becomes an isolated asset with this debt ceiling (USD, 2 decimals).
const ISOLATED_ASSET = "AAVE";
const DEBT_CEILING = 10000000; // 100,000.00 USD
const EMODE_ID = 1; // Stable-EMode (USDC, DAI), created by deploy-v3's Test market config

// The accounts. Supplies happen in key order. Isolation mode: on core 1.19.3 an
// isolated asset (AAVE here) is never enabled as collateral by supply() itself;
// `enableCollateral` turns it on right after its supply, which only succeeds
// while it is the user's only collateral. Later supplies of other assets by an
// isolated user are then not collateral.
// HF figures are at the initial oracle prices (WETH 4000, LINK 30, AAVE 300, DAI/USDC 1)
// before interest; the pinned block is ~23 h of interest later.
const USERS = [
  { label: "idle supplier: USDC", supply: { USDC: "2000000" } },
  { label: "idle supplier: DAI", supply: { DAI: "2000000" } },
  { label: "idle supplier: WETH", supply: { WETH: "500" } },
  { label: "idle supplier: LINK", supply: { LINK: "50000" } },
  { label: "idle supplier: WETH+LINK, no debt", supply: { WETH: "100", LINK: "10000" } },
  { label: "near liquidation: WETH -> USDC (HF~1.10)", supply: { WETH: "10" }, borrow: { USDC: "30000" } },
  { label: "near liquidation: WETH -> DAI (HF~1.06)", supply: { WETH: "10" }, borrow: { DAI: "31000" } },
  {
    label: "near liquidation on LINK drop: WETH+LINK -> USDC+DAI (HF~1.11)",
    supply: { WETH: "5", LINK: "1000" },
    borrow: { USDC: "20000", DAI: "15000" },
  },
  { label: "near liquidation on LINK drop: LINK -> WETH (HF~1.125)", supply: { LINK: "2000" }, borrow: { WETH: "10" } },
  {
    label: "multi: WETH+DAI -> LINK+USDC (HF~1.13)",
    supply: { WETH: "3", DAI: "20000" },
    borrow: { LINK: "500", USDC: "8000" },
  },
  {
    label: "near liquidation: WETH -> USDC+DAI (HF~1.06)",
    supply: { WETH: "20" },
    borrow: { USDC: "55000", DAI: "7000" },
  },
  { label: "healthy: WETH -> USDC (HF~3.3)", supply: { WETH: "50" }, borrow: { USDC: "50000" } },
  { label: "short WETH: USDC -> WETH (HF~1.42)", supply: { USDC: "100000" }, borrow: { WETH: "15" } },
  { label: "e-mode 1: USDC -> DAI (HF~1.037)", emode: EMODE_ID, supply: { USDC: "100000" }, borrow: { DAI: "95000" } },
  { label: "e-mode 1: DAI -> USDC (HF~1.64)", emode: EMODE_ID, supply: { DAI: "50000" }, borrow: { USDC: "30000" } },
  {
    label: "e-mode 1 with a non-category collateral: USDC+WETH -> DAI",
    emode: EMODE_ID,
    supply: { USDC: "50000", WETH: "5" },
    borrow: { DAI: "40000" },
  },
  {
    label: "isolation: AAVE -> USDC, plus USDC supplied (not collateral in isolation)",
    supply: { AAVE: "1000", USDC: "10000" },
    enableCollateral: ["AAVE"],
    borrow: { USDC: "50000" },
  },
  {
    label: "isolation: AAVE -> DAI (HF~1.345)",
    supply: { AAVE: "200" },
    enableCollateral: ["AAVE"],
    borrow: { DAI: "29000" },
  },
  {
    label: "whale: WETH+LINK -> USDC+DAI+WETH+LINK",
    supply: { WETH: "100", LINK: "50000" },
    borrow: { USDC: "200000", DAI: "100000", WETH: "10", LINK: "2000" },
  },
  { label: "idle supplier: LINK small", supply: { LINK: "500" } },
  {
    label: "near liquidation: WETH -> DAI+USDC+LINK (HF~1.04)",
    supply: { WETH: "40" },
    borrow: { DAI: "100000", USDC: "15000", LINK: "400" },
  },
  {
    label: "boundary: WETH+LINK -> USDC (HF~1.18; ~0.995 after WETH -20%)",
    supply: { WETH: "8", LINK: "300" },
    borrow: { USDC: "28000" },
  },
  { label: "healthy: LINK -> USDC (HF~1.875)", supply: { LINK: "5000" }, borrow: { USDC: "60000" } },
  {
    label: "WETH supplied but not collateral; DAI collateral -> USDC",
    supply: { WETH: "2", DAI: "5000" },
    noCollateral: ["WETH"],
    borrow: { USDC: "2000" },
  },
  { label: "small near liquidation: WETH -> USDC (HF~1.10)", supply: { WETH: "1" }, borrow: { USDC: "3000" } },
  {
    label: "AAVE supplied after WETH (AAVE not collateral, no isolation) -> DAI",
    supply: { WETH: "5", AAVE: "100" },
    borrow: { DAI: "2000" },
  },
  { label: "idle supplier: DAI small", supply: { DAI: "25000" } },
  { label: "healthy: WETH -> USDC+DAI (HF~3.3)", supply: { WETH: "10" }, borrow: { USDC: "5000", DAI: "5000" } },
  { label: "healthy: LINK -> WETH (HF~11)", supply: { LINK: "1000" }, borrow: { WETH: "0.5" } },
  { label: "idle supplier: USDC small", supply: { USDC: "1000" } },
];

// Uniswap liquidity, in WETH/USDC (USD per WETH price ranges for v3).
const V2_LIQUIDITY = { WETH: "100", USDC: "400000" };
const V3_FEE = 3000;
const V3_POSITIONS = [
  { label: "wide 2000-8000", lo: 2000, hi: 8000, WETH: "50", USDC: "200000" },
  { label: "medium 3600-4400", lo: 3600, hi: 4400, WETH: "50", USDC: "200000" },
  { label: "narrow 3920-4080", lo: 3920, hi: 4080, WETH: "20", USDC: "80000" },
  { label: "out of range 4400-5000 (single-sided)", lo: 4400, hi: 5000, WETH: "10", USDC: "40000" },
];

function isqrt(n) {
  if (n < 0n) throw new Error("isqrt of negative");
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Newton refinement to the exact floor
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

async function main() {
  const t0 = Date.now();
  const accts = await L.accounts();
  if (accts.length < FIRST_USER + USERS.length) {
    throw new Error(`node has ${accts.length} accounts; need ${FIRST_USER + USERS.length}`);
  }
  const admin = accts[ADMIN];
  const liquidator = accts[LIQUIDATOR];
  const lp = accts[LP];
  const swapper = accts[SWAPPER];

  const latest = await L.provider().getBlock("latest");
  if (latest.timestamp >= L.POPULATE_START) {
    throw new Error(
      `latest block timestamp ${latest.timestamp} is past POPULATE_START ${L.POPULATE_START}: ` +
        "populate a freshly started node (within an hour of start-up)"
    );
  }
  const clock = new L.Clock(L.POPULATE_START, 1);

  const dep = L.loadDeployments();
  const need = (k) => {
    if (!dep[k]) throw new Error(`deployment ${k} not in deployments.json`);
    return dep[k];
  };
  const addressesProvider = L.contract("PoolAddressesProvider", need("PoolAddressesProvider-Test"));
  const poolAddr = await addressesProvider.getPool();
  const oracleAddr = await addressesProvider.getPriceOracle();
  const aclAddr = await addressesProvider.getACLManager();
  const configuratorAddr = await addressesProvider.getPoolConfigurator();
  const dataProviderAddr = await addressesProvider.getPoolDataProvider();
  const pool = L.contract("Pool", poolAddr);
  const oracle = L.contract("AaveOracle", oracleAddr);
  const dataProvider = L.contract("AaveProtocolDataProvider", dataProviderAddr);
  const configurator = L.contract("PoolConfigurator", configuratorAddr, admin);
  const faucet = L.contract("Faucet", need("Faucet-Test"), admin);

  // reserves, from the chain
  const reserveTokens = await dataProvider.getAllReservesTokens();
  const R = {};
  for (const { symbol, tokenAddress } of reserveTokens) {
    const t = await dataProvider.getReserveTokensAddresses(tokenAddress);
    const erc = L.contract("TestnetERC20", tokenAddress);
    R[symbol] = {
      symbol,
      underlying: tokenAddress,
      aToken: t.aTokenAddress,
      variableDebtToken: t.variableDebtTokenAddress,
      stableDebtToken: t.stableDebtTokenAddress,
      decimals: await erc.decimals(),
    };
  }
  for (const s of ["AAVE", "DAI", "USDC", "WETH", "LINK"]) if (!R[s]) throw new Error(`reserve ${s} missing`);
  const aUsdc = L.contract("AToken", R.USDC.aToken);
  if (!(await aUsdc.totalSupply()).isZero()) {
    throw new Error("market already populated: restart the node (start-node.sh) for a fresh one");
  }
  const amt = (sym, x) => parseUnits(String(x), R[sym].decimals);
  const tok = (sym, from) => L.contract("TestnetERC20", R[sym].underlying, from);

  // ---- admin set-up ----
  await clock.send(() => faucet.setMaximumMintAmount(1000000000), "faucet.setMaximumMintAmount");
  // isolation: debt ceiling on AAVE (must happen before anyone supplies it)
  await clock.send(
    () => configurator.setDebtCeiling(R[ISOLATED_ASSET].underlying, DEBT_CEILING),
    "setDebtCeiling"
  );
  for (const s of ["USDC", "DAI"]) {
    await clock.send(() => configurator.setBorrowableInIsolation(R[s].underlying, true), `setBorrowableInIsolation ${s}`);
  }

  // UiPoolDataProviderV3 with a mock ETH/USD aggregator (no Chainlink feed locally)
  const ethUsd = await clock.deploy("MockAggregator", admin, [parseUnits("4000", 8)], "deploy ETH/USD mock aggregator");
  const uiPool = await clock.deploy("UiPoolDataProviderV3", admin, [ethUsd.address, ethUsd.address], "deploy UiPoolDataProviderV3");

  const mint = (sym, to, x) =>
    clock.send(() => faucet.mint(R[sym].underlying, to, amt(sym, x)), `mint ${x} ${sym} to ${to}`);
  const approve = (sym, from, spender) =>
    clock.send(() => tok(sym, from).approve(spender, L.MAX_UINT256), `approve ${sym}`);

  // ---- accounts ----
  const users = [];
  for (let i = 0; i < USERS.length; i++) {
    const spec = USERS[i];
    const addr = accts[FIRST_USER + i];
    const p = L.contract("Pool", poolAddr, addr);
    for (const [sym, x] of Object.entries(spec.supply || {})) {
      await mint(sym, addr, x);
      await approve(sym, addr, poolAddr);
      await clock.send(() => p.supply(R[sym].underlying, amt(sym, x), addr, 0), `user ${i} supply ${x} ${sym}`);
      if ((spec.enableCollateral || []).includes(sym)) {
        // core 1.19.3 (v3.0.2): supplying an isolated asset never enables it as
        // collateral automatically (unless the caller has ISOLATED_COLLATERAL_SUPPLIER_ROLE)
        await clock.send(
          () => p.setUserUseReserveAsCollateral(R[sym].underlying, true),
          `user ${i} enable ${sym} collateral`
        );
      }
    }
    for (const sym of spec.noCollateral || []) {
      await clock.send(
        () => p.setUserUseReserveAsCollateral(R[sym].underlying, false),
        `user ${i} disable ${sym} collateral`
      );
    }
    if (spec.emode) {
      await clock.send(() => p.setUserEMode(spec.emode), `user ${i} setUserEMode ${spec.emode}`);
    }
    for (const [sym, x] of Object.entries(spec.borrow || {})) {
      await clock.send(
        () => p.borrow(R[sym].underlying, amt(sym, x), 2, 0, addr),
        `user ${i} borrow ${x} ${sym}`
      );
    }
    users.push({
      index: i,
      account: FIRST_USER + i,
      address: addr,
      label: spec.label,
      emode: spec.emode || 0,
      supplied: spec.supply || {},
      borrowed_variable: spec.borrow || {},
      collateral_disabled: spec.noCollateral || [],
      collateral_enabled_explicitly: spec.enableCollateral || [],
    });
  }

  // ---- liquidator: funded and approved for every reserve ----
  const liqFunds = { USDC: "5000000", DAI: "5000000", WETH: "2000", LINK: "200000", AAVE: "10000" };
  for (const [sym, x] of Object.entries(liqFunds)) {
    await mint(sym, liquidator, x);
    await approve(sym, liquidator, poolAddr);
  }

  // ---- Uniswap v2: factory + WETH/USDC pair ----
  const weth = R.WETH.underlying;
  const usdc = R.USDC.underlying;
  await mint("WETH", lp, "1000");
  await mint("USDC", lp, "4000000");
  const v2Factory = await clock.deploy("UniswapV2Factory", admin, [admin], "deploy UniswapV2Factory");
  await clock.send(() => v2Factory.connect(L.signer(admin)).createPair(weth, usdc), "v2 createPair");
  const pairAddr = await v2Factory.getPair(weth, usdc);
  const pair = L.contract("UniswapV2Pair", pairAddr, lp);
  await clock.send(() => tok("WETH", lp).transfer(pairAddr, amt("WETH", V2_LIQUIDITY.WETH)), "v2 fund WETH");
  await clock.send(() => tok("USDC", lp).transfer(pairAddr, amt("USDC", V2_LIQUIDITY.USDC)), "v2 fund USDC");
  await clock.send(() => pair.mint(lp), "v2 mint");

  // ---- Uniswap v3: factory, WETH/USDC 0.3% pool, periphery, 4 positions ----
  const v3Factory = await clock.deploy("UniswapV3Factory", admin, [], "deploy UniswapV3Factory");
  await clock.send(() => v3Factory.connect(L.signer(admin)).createPool(weth, usdc, V3_FEE), "v3 createPool");
  const v3PoolAddr = await v3Factory.getPool(weth, usdc, V3_FEE);
  const v3Pool = L.contract("UniswapV3Pool", v3PoolAddr, admin);
  const token0 = await v3Pool.token0();
  const token1 = await v3Pool.token1();
  const sym0 = token0.toLowerCase() === weth.toLowerCase() ? "WETH" : "USDC";
  const sym1 = sym0 === "WETH" ? "USDC" : "WETH";
  // price consistent with the Aave oracle: raw token1 per raw token0
  const p0 = BigInt((await oracle.getAssetPrice(token0)).toString());
  const p1 = BigInt((await oracle.getAssetPrice(token1)).toString());
  const d0 = BigInt(R[sym0].decimals);
  const d1 = BigInt(R[sym1].decimals);
  const sqrtPriceX96 = isqrt((p0 * 10n ** d1 * (1n << 192n)) / (p1 * 10n ** d0));
  await clock.send(() => v3Pool.initialize(sqrtPriceX96.toString()), "v3 initialize");
  const spacing = await v3Pool.tickSpacing();
  // tick of a USD-per-WETH price
  const tickOf = (usdPerWeth) => {
    const raw0 = sym0 === "WETH" ? usdPerWeth * 10 ** (Number(d1) - Number(d0)) : (1 / usdPerWeth) * 10 ** (Number(d1) - Number(d0));
    return Math.log(raw0) / Math.log(1.0001);
  };
  const npm = await clock.deploy(
    "NonfungiblePositionManager",
    admin,
    [v3Factory.address, weth, ethers.constants.AddressZero],
    "deploy NonfungiblePositionManager"
  );
  const router = await clock.deploy("SwapRouter", admin, [v3Factory.address, weth], "deploy SwapRouter");
  await approve("WETH", lp, npm.address);
  await approve("USDC", lp, npm.address);
  const positions = [];
  for (const pos of V3_POSITIONS) {
    const a = tickOf(pos.lo);
    const b = tickOf(pos.hi);
    const tickLower = Math.floor(Math.min(a, b) / spacing) * spacing;
    const tickUpper = Math.ceil(Math.max(a, b) / spacing) * spacing;
    const params = {
      token0,
      token1,
      fee: V3_FEE,
      tickLower,
      tickUpper,
      amount0Desired: amt(sym0, pos[sym0]),
      amount1Desired: amt(sym1, pos[sym1]),
      amount0Min: 0,
      amount1Min: 0,
      recipient: lp,
      deadline: 4294967295,
    };
    const rc = await clock.send(() => npm.connect(L.signer(lp)).mint(params), `v3 mint ${pos.label}`);
    const iface = new ethers.utils.Interface(L.artifact("NonfungiblePositionManager").abi);
    const parsed = rc.logs
      .filter((l) => l.address.toLowerCase() === npm.address.toLowerCase())
      .map((l) => {
        try {
          return iface.parseLog(l);
        } catch (_) {
          return null;
        }
      })
      .find((x) => x && x.name === "IncreaseLiquidity");
    positions.push({
      label: pos.label,
      tokenId: parsed.args.tokenId.toString(),
      tickLower,
      tickUpper,
      liquidity: parsed.args.liquidity.toString(),
      amount0: parsed.args.amount0.toString(),
      amount1: parsed.args.amount1.toString(),
    });
  }

  // swapper: funded, approved for the v3 router (v2 swaps transfer to the pair directly)
  await mint("WETH", swapper, "1000");
  await mint("USDC", swapper, "4000000");
  await approve("WETH", swapper, router.address);
  await approve("USDC", swapper, router.address);

  // ---- pin time ----
  const lastPopulate = await L.provider().getBlock("latest");
  if (lastPopulate.timestamp >= L.PINNED_TIMESTAMP) throw new Error("populate overran the pinned timestamp");
  await L.rpc("evm_mine", [L.PINNED_TIMESTAMP]);
  const pinned = await L.provider().getBlock("latest");
  if (pinned.timestamp !== L.PINNED_TIMESTAMP) {
    throw new Error(`pinned block has timestamp ${pinned.timestamp}, wanted ${L.PINNED_TIMESTAMP}`);
  }

  // ---- addresses.json ----
  const treasury = await aUsdc.RESERVE_TREASURY_ADDRESS();
  const reserves = [];
  const reservesList = await pool.getReservesList({ blockTag: pinned.number });
  for (const underlying of reservesList) {
    const r = Object.values(R).find((x) => x.underlying.toLowerCase() === underlying.toLowerCase());
    const cfg = await dataProvider.getReserveConfigurationData(underlying, { blockTag: pinned.number });
    reserves.push({
      ...r,
      oracleSource: await oracle.getSourceOfAsset(underlying),
      priceUsd8: (await oracle.getAssetPrice(underlying)).toString(),
      ltv: cfg.ltv.toString(),
      liquidationThreshold: cfg.liquidationThreshold.toString(),
      liquidationBonus: cfg.liquidationBonus.toString(),
      reserveFactor: cfg.reserveFactor.toString(),
      liquidationProtocolFee: (await dataProvider.getLiquidationProtocolFee(underlying)).toString(),
      debtCeiling: (await dataProvider.getDebtCeiling(underlying)).toString(),
      emodeCategory: (await dataProvider.getReserveEModeCategory(underlying)).toString(),
    });
  }
  const em = await pool.getEModeCategoryData(EMODE_ID);
  const v2Reserves = await L.contract("UniswapV2Pair", pairAddr).getReserves({ blockTag: pinned.number });
  const slot0 = await v3Pool.slot0({ blockTag: pinned.number });
  const out = {
    chainId: L.CHAIN_ID,
    rpcUrl: L.rpcUrl(),
    pinnedBlock: { number: pinned.number, timestamp: pinned.timestamp, hash: pinned.hash },
    aave: {
      PoolAddressesProvider: addressesProvider.address,
      Pool: poolAddr,
      PoolConfigurator: configuratorAddr,
      AaveOracle: oracleAddr,
      PoolDataProvider: dataProviderAddr,
      UiPoolDataProviderV3: uiPool.address,
      UiPoolDataProviderV3EthUsdAggregator: ethUsd.address,
      ACLManager: aclAddr,
      poolAdmin: admin,
      treasury,
      faucet: faucet.address,
      oracleBaseCurrencyUnit: (await oracle.BASE_CURRENCY_UNIT()).toString(),
    },
    emodeCategories: [
      {
        id: EMODE_ID,
        label: em.label,
        ltv: em.ltv,
        liquidationThreshold: em.liquidationThreshold,
        liquidationBonus: em.liquidationBonus,
        priceSource: em.priceSource,
      },
    ],
    isolation: { asset: ISOLATED_ASSET, debtCeiling: String(DEBT_CEILING), debtCeilingDecimals: 2, borrowableInIsolation: ["USDC", "DAI"] },
    reserves,
    accounts: { admin, liquidator, uniswapLp: lp, swapper },
    users,
    uniswap: {
      v2: {
        factory: v2Factory.address,
        pair: pairAddr,
        token0: await pair.token0(),
        token1: await pair.token1(),
        reserve0: v2Reserves[0].toString(),
        reserve1: v2Reserves[1].toString(),
        router: null,
      },
      v3: {
        factory: v3Factory.address,
        pool: v3PoolAddr,
        token0,
        token1,
        fee: V3_FEE,
        tickSpacing: spacing,
        sqrtPriceX96: slot0.sqrtPriceX96.toString(),
        tick: slot0.tick,
        liquidity: (await v3Pool.liquidity({ blockTag: pinned.number })).toString(),
        positionManager: npm.address,
        swapRouter: router.address,
        positions,
      },
    },
  };
  const file = require("path").join(L.outDir(), "addresses.json");
  L.writeJson(file, out);
  L.printJson({
    ok: true,
    addressesFile: file,
    pinnedBlock: out.pinnedBlock,
    users: users.length,
    reserves: reserves.map((r) => r.symbol),
    seconds: (Date.now() - t0) / 1000,
  });
}

L.run(main);
