// Shared helpers for the harness scripts (populate, set-price, liquidate,
// swap, account-data). Plain ethers v5 over JSON-RPC, so every script works
// both as `node X.js` and as `npx hardhat run X.js --network local`.
"use strict";

const fs = require("fs");
const path = require("path");
const { ethers } = require("ethers");

const DIR = __dirname;
const DEPLOY_V3_ARTIFACTS = path.join(
  path.dirname(require.resolve("@aave/deploy-v3/package.json")),
  "artifacts"
);
const CHAIN_ID = 31337;

// Time model (see README "Time"): the chain starts at 2024-01-01T00:00:00Z
// (hardhat.config.js initialDate); populate.js builds positions from
// POPULATE_START on, one second per transaction, then mines the pinned block
// at PINNED_TIMESTAMP. Later scripts freeze time at the latest block's
// timestamp unless TIMESTAMP is given.
const CHAIN_START = 1704067200; // 2024-01-01T00:00:00Z
const POPULATE_START = CHAIN_START + 3600; // 2024-01-01T01:00:00Z
const PINNED_TIMESTAMP = 1704153600; // 2024-01-02T00:00:00Z

const MAX_UINT256 = ethers.constants.MaxUint256;

function port() {
  return process.env.EVM_PORT || "8545";
}
function rpcUrl() {
  return process.env.EVM_RPC_URL || `http://127.0.0.1:${port()}`;
}
function outDir() {
  return process.env.EVM_OUT || path.join(DIR, "out");
}

let _provider;
function provider() {
  if (!_provider) {
    _provider = new ethers.providers.StaticJsonRpcProvider(
      { url: rpcUrl(), timeout: 120000 },
      { chainId: CHAIN_ID, name: "hardhat-local" }
    );
    _provider.pollingInterval = 50;
  }
  return _provider;
}
function rpc(method, params = []) {
  return provider().send(method, params);
}
function signer(address) {
  return provider().getSigner(address);
}
async function accounts() {
  return (await rpc("eth_accounts")).map((a) => ethers.utils.getAddress(a));
}

// ---- artifacts -------------------------------------------------------------
const ARTIFACTS = {
  Pool: "@aave/core-v3/contracts/protocol/pool/Pool.sol/Pool.json",
  PoolConfigurator: "@aave/core-v3/contracts/protocol/pool/PoolConfigurator.sol/PoolConfigurator.json",
  AaveOracle: "@aave/core-v3/contracts/misc/AaveOracle.sol/AaveOracle.json",
  AaveProtocolDataProvider:
    "@aave/core-v3/contracts/misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider.json",
  AToken: "@aave/core-v3/contracts/protocol/tokenization/AToken.sol/AToken.json",
  VariableDebtToken:
    "@aave/core-v3/contracts/protocol/tokenization/VariableDebtToken.sol/VariableDebtToken.json",
  TestnetERC20: "@aave/periphery-v3/contracts/mocks/testnet-helpers/TestnetERC20.sol/TestnetERC20.json",
  Faucet: "@aave/periphery-v3/contracts/mocks/testnet-helpers/Faucet.sol/Faucet.json",
  MockAggregator:
    "@aave/core-v3/contracts/mocks/oracle/CLAggregators/MockAggregator.sol/MockAggregator.json",
  UiPoolDataProviderV3:
    "@aave/periphery-v3/contracts/misc/UiPoolDataProviderV3.sol/UiPoolDataProviderV3.json",
  ACLManager: "@aave/core-v3/contracts/protocol/configuration/ACLManager.sol/ACLManager.json",
  PoolAddressesProvider:
    "@aave/core-v3/contracts/protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json",
};
const UNI = {
  UniswapV2Factory: "@uniswap/v2-core/build/UniswapV2Factory.json",
  UniswapV2Pair: "@uniswap/v2-core/build/UniswapV2Pair.json",
  UniswapV3Factory: "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
  UniswapV3Pool: "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
  NonfungiblePositionManager:
    "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
  SwapRouter: "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
};
const _artifactCache = {};
function artifact(name) {
  if (_artifactCache[name]) return _artifactCache[name];
  let file;
  if (ARTIFACTS[name]) file = path.join(DEPLOY_V3_ARTIFACTS, ARTIFACTS[name]);
  else if (UNI[name]) file = require.resolve(UNI[name]);
  else throw new Error(`unknown artifact ${name}`);
  const a = JSON.parse(fs.readFileSync(file, "utf8"));
  const bytecode = typeof a.bytecode === "string" ? a.bytecode : a.evm.bytecode.object;
  const out = { abi: a.abi, bytecode: bytecode.startsWith("0x") ? bytecode : "0x" + bytecode };
  _artifactCache[name] = out;
  return out;
}
function contract(name, address, from) {
  const p = from ? signer(from) : provider();
  return new ethers.Contract(address, artifact(name).abi, p);
}

// ---- time-pinned transactions ---------------------------------------------
// A Clock hands out the timestamp of the next block. Every transaction the
// harness sends goes through clock.send(), which pins the next block's
// timestamp first, so runs are reproducible regardless of wall-clock speed.
class Clock {
  constructor(start, step) {
    this.t = start;
    this.step = step; // 0 = frozen time (allowBlocksWithSameTimestamp)
  }
  next() {
    const t = this.t;
    this.t += this.step;
    return t;
  }
  async send(fn, what) {
    await rpc("evm_setNextBlockTimestamp", [this.next()]);
    let tx;
    try {
      tx = await fn();
    } catch (e) {
      throw new Error(`${what || "transaction"} failed: ${errText(e)}`);
    }
    const receipt = await tx.wait();
    if (receipt.status !== 1) throw new Error(`${what || "transaction"} reverted`);
    return receipt;
  }
  async deploy(name, from, args, what) {
    const a = artifact(name);
    const factory = new ethers.ContractFactory(a.abi, a.bytecode, signer(from));
    await rpc("evm_setNextBlockTimestamp", [this.next()]);
    let c;
    try {
      c = await factory.deploy(...args);
      await c.deployTransaction.wait();
    } catch (e) {
      throw new Error(`${what || "deploy " + name} failed: ${errText(e)}`);
    }
    return c;
  }
}

// For scripts run after populate: time is frozen at the latest block's
// timestamp (or at $TIMESTAMP if given, which must not be in the past).
async function postPinClock() {
  const latest = await provider().getBlock("latest");
  let t = latest.timestamp;
  if (process.env.TIMESTAMP) {
    t = Number(process.env.TIMESTAMP);
    if (!(t >= latest.timestamp)) {
      throw new Error(`TIMESTAMP ${process.env.TIMESTAMP} is before the latest block's ${latest.timestamp}`);
    }
  }
  return new Clock(t, 0);
}

function errText(e) {
  if (!e) return String(e);
  const parts = [e.reason, e.error && e.error.message, e.data && e.data.message, e.message];
  const s = parts.find((x) => typeof x === "string" && x.length);
  return s ? s.split("\n")[0] : String(e);
}

// ---- files -----------------------------------------------------------------
function loadDeployments() {
  const f = path.join(outDir(), "deployments.json");
  if (!fs.existsSync(f)) throw new Error(`${f} missing: start the node with start-node.sh (same EVM_OUT)`);
  const d = JSON.parse(fs.readFileSync(f, "utf8"));
  const byName = {};
  for (const [k, v] of Object.entries(d.contracts)) byName[k] = v.address;
  return byName;
}
function loadAddresses() {
  const f = path.join(outDir(), "addresses.json");
  if (!fs.existsSync(f)) throw new Error(`${f} missing: run populate.js first (same EVM_OUT)`);
  return JSON.parse(fs.readFileSync(f, "utf8"));
}
function reserveBySymbol(addrs, sym) {
  if (!sym) throw new Error("asset symbol missing");
  const r = addrs.reserves.find(
    (x) => x.symbol.toLowerCase() === sym.toLowerCase() || x.underlying.toLowerCase() === sym.toLowerCase()
  );
  if (!r) throw new Error(`unknown reserve ${sym}; known: ${addrs.reserves.map((x) => x.symbol).join(", ")}`);
  return r;
}
function resolveUser(addrs, u) {
  if (!u) throw new Error("USER missing");
  if (/^\d+$/.test(u)) {
    const x = addrs.users[Number(u)];
    if (!x) throw new Error(`no user with index ${u}`);
    return ethers.utils.getAddress(x.address);
  }
  return ethers.utils.getAddress(u);
}

// ---- output ----------------------------------------------------------------
function jsonReplacer(_k, v) {
  if (v && typeof v === "object" && v.type === "BigNumber" && v.hex) return ethers.BigNumber.from(v.hex).toString();
  if (ethers.BigNumber.isBigNumber(v)) return v.toString();
  if (typeof v === "bigint") return v.toString();
  return v;
}
function printJson(obj) {
  process.stdout.write(JSON.stringify(obj, jsonReplacer, 2) + "\n");
}
function writeJson(file, obj) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj, jsonReplacer, 2) + "\n");
}

// Runs main(); on failure prints {"error": ...} on stdout and exits 1.
function run(main) {
  main()
    .then(() => process.exit(0))
    .catch((e) => {
      printJson({ error: errText(e) });
      if (process.env.EVM_DEBUG) console.error(e);
      process.exit(1);
    });
}

function env(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (dflt === undefined) throw new Error(`environment variable ${name} is required`);
    return dflt;
  }
  return v;
}

module.exports = {
  ethers,
  DIR,
  CHAIN_ID,
  CHAIN_START,
  POPULATE_START,
  PINNED_TIMESTAMP,
  MAX_UINT256,
  port,
  rpcUrl,
  outDir,
  provider,
  rpc,
  signer,
  accounts,
  artifact,
  contract,
  Clock,
  postPinClock,
  errText,
  loadDeployments,
  loadAddresses,
  reserveBySymbol,
  resolveUser,
  printJson,
  writeJson,
  run,
  env,
};
