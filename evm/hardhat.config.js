// Hardhat configuration for cascade's local Aave v3 + Uniswap harness.
//
// `MARKET_NAME=Test npx hardhat node --hostname 127.0.0.1 --port PORT` deploys
// @aave/deploy-v3's "Test" market (AAVE, DAI, USDC, WETH, LINK with mock
// tokens and mock price feeds) into the in-process chain before serving RPC.
// Nothing is compiled: every contract comes from the npm packages' prebuilt
// artifacts. See README.md ("Workarounds") for why each piece below exists.

const path = require("path");
const { task, subtask } = require("hardhat/config");
const { TASK_COMPILE } = require("hardhat/builtin-tasks/task-names");

require("@nomiclabs/hardhat-ethers");
require("hardhat-deploy");

if (!process.env.MARKET_NAME) process.env.MARKET_NAME = "Test";

const DEPLOY_V3 = path.dirname(require.resolve("@aave/deploy-v3/package.json"));

// Tasks that deploy-v3's post-deployment hook calls (review-stable-borrow,
// setup-debt-ceiling, setup-e-modes, ...). Its own hardhat config loads them
// the same way; we do it here because we do not use that config.
for (const folder of ["misc", "market-registry"]) {
  const dir = path.join(DEPLOY_V3, "dist", "tasks", folder);
  for (const f of require("fs").readdirSync(dir)) {
    if (f.endsWith(".js")) require(path.join(dir, f));
  }
}

// Workaround 2: `hardhat node` (via hardhat-deploy) compiles first, and a
// compile with no sources wipes the artifacts folder, which here is the
// package's prebuilt artifacts. Nothing to compile -> make it a no-op.
task(TASK_COMPILE, "No-op: all artifacts are prebuilt in npm packages").setAction(async () => {});

// Workaround 3: deploy-v3 1.56.2's post-deploy hook calls this task for
// testnet markets but the package does not ship it (HH303 otherwise). The
// upstream intent is to stop the faucet minting the wrapped native token and
// to disable WETH borrowing; on core 1.19.3 disabling borrowing reverts with
// '88' (STABLE_BORROWING_ENABLED) unless stable borrowing is disabled first.
// The harness wants WETH borrowable (variable rate), so the task only
// disables WETH *stable* borrowing, which is what v3.0.1 markets do anyway.
task("disable-faucet-native-testnets", "Harness stand-in for the missing deploy-v3 task").setAction(
  async (_, hre) => {
    const { getPoolConfiguratorProxy, getReserveAddress, loadPoolConfig } = require(
      path.join(DEPLOY_V3, "dist", "helpers")
    );
    const config = await loadPoolConfig(process.env.MARKET_NAME);
    const weth = await getReserveAddress(config, "WETH");
    const configurator = await getPoolConfiguratorProxy();
    await (await configurator.setReserveStableRateBorrowing(weth, false)).wait();
    console.log("- (harness) WETH stable-rate borrowing disabled; variable borrowing stays enabled");
  }
);

// The pinned chain start: block timestamps are this date plus elapsed wall
// clock until populate.js pins them explicitly (see README "Time").
const INITIAL_DATE = "2024-01-01T00:00:00Z";

const hardhatNetwork = {
  chainId: 31337,
  initialDate: INITIAL_DATE,
  initialBaseFeePerGas: 0,
  gasPrice: "auto",
  blockGasLimit: 30000000,
  allowUnlimitedContractSize: true,
  // lets the harness mine several blocks at one frozen timestamp
  allowBlocksWithSameTimestamp: true,
  throwOnTransactionFailures: true,
  throwOnCallFailures: true,
  saveDeployments: false,
  tags: ["local"],
  accounts: {
    // hardhat's well-known test mnemonic; 64 funded accounts
    mnemonic: "test test test test test test test test test test test junk",
    count: 64,
    accountsBalance: "1000000000000000000000000", // 1,000,000 ETH each
  },
};

module.exports = {
  solidity: "0.8.10", // never used: compile is a no-op
  defaultNetwork: "hardhat",
  networks: {
    hardhat: hardhatNetwork,
    // Scripts talk to a running node through this network. Port from EVM_PORT.
    local: {
      url: `http://127.0.0.1:${process.env.EVM_PORT || "8545"}`,
      chainId: 31337,
      accounts: "remote",
      timeout: 120000,
    },
  },
  // Workaround 1: tasks look artifacts up here; pointing at deploy-v3's
  // prebuilt artifacts avoids `HH700: Artifact ... not found`.
  paths: {
    artifacts: path.join(DEPLOY_V3, "artifacts"),
    sources: path.join(__dirname, "no-contracts"),
    cache: path.join(__dirname, "out", "cache"),
    deployments: path.join(__dirname, "out", "deployments"),
  },
  external: {
    contracts: [
      {
        artifacts: path.join(DEPLOY_V3, "artifacts"),
        deploy: path.join(DEPLOY_V3, "dist", "deploy"),
      },
    ],
  },
  namedAccounts: {
    deployer: { default: 0 },
    aclAdmin: { default: 0 },
    emergencyAdmin: { default: 0 },
    poolAdmin: { default: 0 },
    addressesProviderRegistryOwner: { default: 0 },
    treasuryProxyAdmin: { default: 1 },
    incentivesProxyAdmin: { default: 1 },
    incentivesEmissionManager: { default: 0 },
    incentivesRewardsVault: { default: 0 },
  },
  mocha: { timeout: 0 },
};
