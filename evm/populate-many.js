// populate-many.js: after populate.js, opens ACCOUNTS more Aave positions (default 1000) for
// import benchmarks: mixed collateral (WETH, WETH+LINK, LINK, USDC, DAI), variable debt
// (USDC, DAI, WETH), a fifth of them in e-mode 1, a tenth idle suppliers. Fast: nothing waits
// for a receipt.
//
//   EVM_PORT=8545 ACCOUNTS=10000 node populate-many.js
//
// How:
// - user i's private key is keccak256(abi.encode("cascade populate-many", i)) and its address
//   follows from it (secp256k1); the node impersonates the users (hardhat_impersonateAccount) and
//   funds their gas with hardhat_setBalance, so nothing is signed here;
// - FUNDERS unlocked accounts (eth_accounts 40..) mint the tokens once from the faucet and
//   supply on the users' behalf (Pool.supply(asset, amount, user, 0)); the first of them also
//   supplies the pool's borrowable liquidity on its own account;
// - the users then send their own setUserEMode and borrow transactions;
// - automine is off; transactions go out in JSON-RPC batches with explicit nonces and each round
//   (CHUNK users' supplies, then their borrows) is mined into one block by evm_mine at the
//   frozen timestamp (the latest block's, as set-price.js does; TIMESTAMP overrides), the block
//   gas limit raised to hold it; every receipt is then checked (status 1).
// Automine and the block gas limit are restored at the end, also on failure.
//
// Writes $EVM_OUT/users-many.txt: every account with a position (populate's 30 users, the
// liquidity account, the generated users), one address a line, for `cascade import --users`.
// Deterministic: the same ACCOUNTS on a fresh populated node gives the same state.
"use strict";

const crypto = require("crypto");
const path = require("path");
const fs = require("fs");
const L = require("./lib");
const { ethers } = L;

const FIRST_FUNDER = 40; // eth_accounts index; populate.js uses 0..39
const FUNDERS = 8;
const CHUNK = Number(process.env.CHUNK || 1000); // users per round (two blocks a round)
const RPC_BATCH = 500; // requests per JSON-RPC batch
const GAS = { supply: 400000, borrow: 600000, emode: 200000 };
const GAS_PRICE = "0x3b9aca00"; // 1 gwei
const DEFAULT_GAS_LIMIT = 30000000; // hardhat.config.js blockGasLimit
const EMODE_ID = 1;

// JSON-RPC batches straight over HTTP (ethers v5 sends one request at a time).
async function batch(reqs) {
  const out = [];
  for (let s = 0; s < reqs.length; s += RPC_BATCH) {
    const part = reqs.slice(s, s + RPC_BATCH);
    const body = part.map(([method, params], i) => ({ jsonrpc: "2.0", id: i, method, params }));
    // fetch (undici) rather than ethers' provider: undici retires a kept-alive socket before the
    // node's 5 s keep-alive timeout closes it; ethers v5 on Node's agent could reuse one the node
    // had just closed ("missing response") after a long round.
    const res = await fetch(L.rpcUrl(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answers = await res.json();
    if (!Array.isArray(answers)) throw new Error(`batch answered ${JSON.stringify(answers).slice(0, 300)}`);
    const byId = new Array(part.length);
    for (const a of answers) byId[a.id] = a;
    for (let i = 0; i < part.length; i++) {
      const a = byId[i];
      if (!a) throw new Error(`${part[i][0]}: no answer in the batch`);
      if (a.error) throw new Error(`${part[i][0]} ${JSON.stringify(part[i][1]).slice(0, 200)}: ${a.error.message}`);
      out.push(a.result);
    }
  }
  return out;
}

// One request, through the same path.
async function rpc(method, params = []) {
  return (await batch([[method, params]]))[0];
}

// Deterministic generated user i: key, address, and a stream of pseudo-random bytes.
function user(i) {
  const key = ethers.utils.keccak256(ethers.utils.defaultAbiCoder.encode(["string", "uint256"], ["cascade populate-many", i]));
  const ecdh = crypto.createECDH("secp256k1");
  ecdh.setPrivateKey(Buffer.from(key.slice(2), "hex"));
  const pub = ecdh.getPublicKey(); // 0x04 || x || y
  const address = ethers.utils.getAddress("0x" + ethers.utils.keccak256(pub.subarray(1)).slice(26));
  const rnd = Buffer.from(ethers.utils.keccak256(key).slice(2), "hex");
  return { i, key, address, rnd };
}

// A user's position, from its random bytes. Amounts are in USD; borrows are a fraction of the
// borrowing power at the initial prices (LTV), so every borrow passes Aave's checks.
function spec(rnd) {
  const u = (k) => rnd[k] / 255; // uniform-ish in [0, 1]
  const f = 0.45 + 0.5 * u(2); // fraction of the borrowing power used: 0.45..0.95
  const size = 1000 * Math.pow(10, 2.3 * u(1)); // 1k..200k USD of collateral
  const kind = rnd[0] % 10;
  switch (kind) {
    case 0: case 1: case 2: case 3:
      return { supply: { WETH: size }, borrow: { USDC: f } };
    case 4: case 5:
      return { supply: { WETH: size * 0.7, LINK: size * 0.3 }, borrow: { USDC: f * 0.6, DAI: f * 0.4 } };
    case 6:
      return { supply: { USDC: size }, emode: EMODE_ID, borrow: { DAI: 0.5 + 0.45 * u(2) } };
    case 7:
      return { supply: { DAI: size * 0.8, WETH: size * 0.2 }, emode: EMODE_ID, borrow: { USDC: f } };
    case 8:
      return rnd[3] % 2 ? { supply: { USDC: size }, borrow: { WETH: f } } : { supply: { LINK: size }, borrow: { USDC: f * 0.5, WETH: f * 0.5 } };
    default:
      return { supply: rnd[3] % 2 ? { WETH: size } : { DAI: size } };
  }
}

function toRaw(usd, r) {
  // usd / price, in raw units, rounded down to 4 significant-ish decimals of a token
  const priceUsd = Number(r.priceUsd8) / 1e8;
  const tokens = Math.floor((usd / priceUsd) * 1e4) / 1e4;
  return ethers.utils.parseUnits(tokens.toFixed(4), r.decimals);
}

async function main() {
  const t0 = Date.now();
  const n = Number(process.env.ACCOUNTS || 1000);
  if (!Number.isInteger(n) || n < 1) throw new Error(`ACCOUNTS must be a positive integer, got ${process.env.ACCOUNTS}`);
  const addrs = L.loadAddresses();
  const R = {};
  for (const r of addrs.reserves) R[r.symbol] = r;
  const em = addrs.emodeCategories.find((e) => e.id === EMODE_ID);
  const accts = await L.accounts();
  if (accts.length < FIRST_FUNDER + FUNDERS) throw new Error(`node has ${accts.length} accounts; need ${FIRST_FUNDER + FUNDERS}`);
  const funders = accts.slice(FIRST_FUNDER, FIRST_FUNDER + FUNDERS);
  const liquidity = funders[0];

  const raw = await rpc("eth_getBlockByNumber", ["latest", false]);
  const latest = { number: parseInt(raw.number, 16), timestamp: parseInt(raw.timestamp, 16) };
  if (latest.number < addrs.pinnedBlock.number) throw new Error("the node is not the one populate.js populated");
  let ts = latest.timestamp;
  if (process.env.TIMESTAMP) {
    ts = Number(process.env.TIMESTAMP);
    if (!(ts >= latest.timestamp)) throw new Error(`TIMESTAMP ${process.env.TIMESTAMP} is before the latest block's ${latest.timestamp}`);
  }

  // users
  const tUsers = Date.now();
  const users = [];
  for (let i = 0; i < n; i++) users.push(user(i));
  const keysSeconds = (Date.now() - tUsers) / 1000;
  const [nonce0] = await batch([["eth_getTransactionCount", [users[0].address, "latest"]]]);
  if (nonce0 !== "0x0") throw new Error("generated user 0 has sent transactions already: populate-many runs once per node");

  const pool = new ethers.utils.Interface(L.artifact("Pool").abi);
  const faucetI = new ethers.utils.Interface(L.artifact("Faucet").abi);
  const erc = new ethers.utils.Interface(L.artifact("TestnetERC20").abi);
  const poolAddr = addrs.aave.Pool;

  let txs = 0;
  let blocks = 0;
  const nonces = new Map();
  for (const f of funders) {
    nonces.set(f, parseInt(await rpc("eth_getTransactionCount", [f, "latest"]), 16));
  }
  const tx = (from, to, data, gas) => {
    const nonce = nonces.get(from) || 0;
    nonces.set(from, nonce + 1);
    return ["eth_sendTransaction", [{ from, to, data, gas: "0x" + gas.toString(16), gasPrice: GAS_PRICE, nonce: "0x" + nonce.toString(16) }]];
  };
  // Sends `reqs`, mines them into one block at the frozen timestamp, checks every receipt.
  const round = async (reqs, what) => {
    if (reqs.length === 0) return;
    const gas = reqs.reduce((a, r) => a + parseInt(r[1][0].gas, 16), 0);
    await rpc("evm_setBlockGasLimit", ["0x" + Math.max(gas + 1, DEFAULT_GAS_LIMIT).toString(16)]);
    const hashes = await batch(reqs);
    await rpc("evm_setNextBlockTimestamp", [ts]);
    await rpc("evm_mine", []);
    blocks++;
    txs += hashes.length;
    const receipts = await batch(hashes.map((h) => ["eth_getTransactionReceipt", [h]]));
    receipts.forEach((rc, k) => {
      if (!rc) throw new Error(`${what}: transaction ${k} (${reqs[k][1][0].from}) not mined in the round's block`);
      if (rc.status !== "0x1") throw new Error(`${what}: transaction ${k} from ${reqs[k][1][0].from} reverted`);
    });
  };

  // The node's console log of every transaction costs it more than the transactions; off while
  // populating, back on at the end.
  await rpc("hardhat_setLoggingEnabled", [false]);
  await rpc("evm_setAutomine", [false]);
  try {
    // gas for the users (impersonated: the node sends for them)
    for (let s = 0; s < n; s += RPC_BATCH) {
      const part = users.slice(s, s + RPC_BATCH);
      await batch(part.flatMap((u) => [
        ["hardhat_impersonateAccount", [u.address]],
        ["hardhat_setBalance", [u.address, "0xde0b6b3a7640000"]], // 1 ETH
      ]));
    }
    // funders: tokens from the faucet, the pool approved; the liquidity account supplies
    const big = { USDC: 9e8, DAI: 9e8, WETH: 1e6, LINK: 1e7 }; // whole tokens minted per funder (faucet cap 1e9)
    const setup = [];
    for (const f of funders) {
      for (const [sym, x] of Object.entries(big)) {
        const raw = ethers.utils.parseUnits(String(x), R[sym].decimals);
        setup.push(tx(f, addrs.aave.faucet, faucetI.encodeFunctionData("mint", [R[sym].underlying, f, raw]), 200000));
        setup.push(tx(f, R[sym].underlying, erc.encodeFunctionData("approve", [poolAddr, L.MAX_UINT256]), 100000));
      }
    }
    await round(setup, "funders: mint and approve");
    const pooled = { USDC: 8e8, DAI: 8e8, WETH: 2e5, LINK: 2e6 }; // borrowable liquidity, whole tokens
    await round(
      Object.entries(pooled).map(([sym, x]) =>
        tx(liquidity, poolAddr, pool.encodeFunctionData("supply", [R[sym].underlying, ethers.utils.parseUnits(String(x), R[sym].decimals), liquidity, 0]), GAS.supply)
      ),
      "liquidity supply"
    );

    const kinds = { emode: 0, idle: 0, borrowers: 0 };
    for (let s = 0; s < n; s += CHUNK) {
      const part = users.slice(s, s + CHUNK);
      const supplies = [];
      const borrows = [];
      for (const u of part) {
        const p = spec(u.rnd);
        const funder = funders[u.i % FUNDERS];
        let power = 0; // USD of borrowing power at the initial prices
        for (const [sym, usd] of Object.entries(p.supply)) {
          const raw = toRaw(usd, R[sym]);
          supplies.push(tx(funder, poolAddr, pool.encodeFunctionData("supply", [R[sym].underlying, raw, u.address, 0]), GAS.supply));
          const ltv = p.emode && R[sym].emodeCategory === String(EMODE_ID) ? em.ltv : Number(R[sym].ltv);
          power += (Number(ethers.utils.formatUnits(raw, R[sym].decimals)) * Number(R[sym].priceUsd8) / 1e8) * (ltv / 1e4);
        }
        if (p.emode) {
          borrows.push(tx(u.address, poolAddr, pool.encodeFunctionData("setUserEMode", [p.emode]), GAS.emode));
          kinds.emode++;
        }
        for (const [sym, frac] of Object.entries(p.borrow || {})) {
          const raw = toRaw(power * frac, R[sym]);
          borrows.push(tx(u.address, poolAddr, pool.encodeFunctionData("borrow", [R[sym].underlying, raw, 2, 0, u.address]), GAS.borrow));
        }
        if (p.borrow) kinds.borrowers++;
        else kinds.idle++;
      }
      await round(supplies, `users ${s}..${s + part.length - 1}: supplies`);
      await round(borrows, `users ${s}..${s + part.length - 1}: e-mode and borrows`);
      process.stderr.write(`populate-many: ${s + part.length}/${n} users, ${txs} transactions, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }

    const file = path.join(L.outDir(), "users-many.txt");
    const lines = [...addrs.users.map((x) => x.address), liquidity, ...users.map((u) => u.address)];
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const last = await rpc("eth_getBlockByNumber", ["latest", false]);
    L.printJson({
      ok: true,
      accounts: n,
      borrowers: kinds.borrowers,
      emode: kinds.emode,
      idleSuppliers: kinds.idle,
      liquidityAccount: liquidity,
      usersFile: file,
      usersInFile: lines.length,
      transactions: txs,
      blocks,
      block: { number: parseInt(last.number, 16), timestamp: parseInt(last.timestamp, 16), hash: last.hash },
      keysSeconds,
      seconds: (Date.now() - t0) / 1000,
    });
  } finally {
    await rpc("evm_setBlockGasLimit", ["0x" + DEFAULT_GAS_LIMIT.toString(16)]);
    await rpc("evm_setAutomine", [true]);
    await rpc("hardhat_setLoggingEnabled", [true]);
  }
}

L.run(main);
