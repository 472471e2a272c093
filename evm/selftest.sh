#!/usr/bin/env bash
# selftest.sh [PORT]: end-to-end check of the harness, with timings.
# setup -> start-node -> populate -> account-data -> set-price (WETH -20%) ->
# account-data (some HF < 1) -> liquidate (max and 50% close factor) ->
# swap v2 and v3 -> stop the node. Outputs go to $EVM_OUT/selftest/.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
PORT="${1:-18545}"
export EVM_PORT="$PORT"
export EVM_OUT="${EVM_OUT:-$DIR/out/selftest-$PORT}"
R="$EVM_OUT/selftest"
mkdir -p "$R"
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
step() { echo "== $1: $2 s" | tee -a "$R/timings.txt"; }
: > "$R/timings.txt"

t=$(now); ./setup.sh > "$R/setup.txt" 2>&1; step setup "$(took "$t")"

t=$(now); PID=$(./start-node.sh "$PORT" "$R/node.log"); step start-node "$(took "$t")"
trap 'kill "$PID" 2>/dev/null || true' EXIT

t=$(now); node populate.js > "$R/populate.json"; step populate "$(took "$t")"
t=$(now); node account-data.js > "$R/account-data-1.json"; step account-data "$(took "$t")"
# WETH 4000 -> 3200 (-20%)
t=$(now); ASSET=WETH PRICE=320000000000 node set-price.js > "$R/set-price.json"; step set-price "$(took "$t")"
node account-data.js > "$R/account-data-2.json"

# pick liquidatable users: a full one (HF <= 0.95, WETH->USDC) and a 50% one (0.95 < HF < 1)
read -r FULL HALF < <(node -e '
  const a = require(process.argv[1]);
  const hf = (u) => BigInt(u.healthFactor);
  const E = 10n ** 18n;
  const liq = a.users.filter((u) => hf(u) < E);
  if (!liq.length) { console.error("no account with HF < 1 after the price drop"); process.exit(1); }
  const full = liq.find((u) => u.index === 5) || liq[0];
  const half = liq.find((u) => hf(u) > 95n * E / 100n) || liq[liq.length - 1];
  console.log(full.index, half.index);' "$R/account-data-2.json")
echo "liquidatable after the drop: full=$FULL half=$HALF" | tee -a "$R/timings.txt"

t=$(now); COLLATERAL=WETH DEBT=USDC USER="$FULL" DEBT_TO_COVER=max node liquidate.js > "$R/liquidate-full.json"
step liquidate "$(took "$t")"
COLLATERAL=WETH DEBT=USDC USER="$HALF" DEBT_TO_COVER=max node liquidate.js > "$R/liquidate-half.json"

t=$(now); POOL=v2 TOKEN_IN=WETH AMOUNT_IN=1000000000000000000 node swap.js > "$R/swap-v2.json"; step swap-v2 "$(took "$t")"
t=$(now); POOL=v3 TOKEN_IN=USDC AMOUNT_IN=500000000000 node swap.js > "$R/swap-v3.json"; step swap-v3 "$(took "$t")"

node -e '
  const R = process.argv[1];
  const j = (f) => require(R + "/" + f);
  const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
  for (const f of ["liquidate-full.json", "liquidate-half.json"]) {
    const l = j(f), c = l.checks;
    if (!c.protocolFeePositive) fail(f + ": protocol fee is 0");
    if (!c.debtRepaidEqualsEvent || !c.collateralReceivedEqualsEvent) fail(f + ": balances disagree with the event");
    if (BigInt(c.collateralVsExpectedAbsDiff) > 1n || BigInt(c.feeVsExpectedAbsDiff) > 1n) fail(f + ": differs from the recomputation");
    const slack = BigInt(c.userCollateralDecreaseMinusReceivedMinusFee);
    if (slack < -2n || slack > 2n) fail(f + ": user collateral decrease != received + fee");
  }
  const half = j("liquidate-half.json");
  if (BigInt(half.user_before.healthFactor) > 95n * 10n ** 16n &&
      2n * BigInt(half.debtRepaid) > BigInt(half.user_before.debtBalance) + 1n) fail("50% close factor not applied");
  const v2 = j("swap-v2.json"), v3 = j("swap-v3.json");
  if (BigInt(v2.amountOut) <= 0n || BigInt(v3.amountOut) <= 0n) fail("swap returned nothing");
  console.log("selftest: 1 passed, 0 failed");' "$R"

kill "$PID"; trap - EXIT
echo "outputs in $R"
