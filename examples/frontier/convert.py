#!/usr/bin/env python3
"""Converts Inverse Finance's Frontier snapshot (a Compound v2 fork on Ethereum, 2024-04-09) into a
cascade snapshot: snapshot.toml + positions.csv. See README.md beside this script.

Usage: convert.py FRONTIER_SNAPSHOT.ts OUT_DIR

The input is the TypeScript fixture `fixtures/frontier-snapshot.ts` of InverseFinance/inverse-web (one
line `export const FRONTIER_POSITIONS_SNAPSHOT = {...};` whose right-hand side is JSON). It is read,
never copied: the output holds only what cascade needs, derived from it.
"""
import csv
import json
import os
import sys

# Market index -> asset id (the cToken's underlying, after Inverse's `variables/tokens.ts`; the two
# xINV markets are named by their index, as the source leaves them unverified).
NAMES = [
    "DOLA", "ETH-v1", "WBTC-v1", "xSUSHI", "YFI-v1", "xINV-5", "stETH", "DOLA-3POOL", "INV-DOLA-SLP",
    "xINV-9", "yvDOLA-3POOL", "yvDAI", "yvUSDT", "yvUSDC", "yvYFI", "yvWETH", "yvCRVCVXETH",
    "WBTC-v2", "ETH-v2", "YFI-v2", "yvCRV-IB", "yvCRV3CRYPTO", "yvCRV-stETH-WETH",
]
# Compound v2's defaults where the file is silent (Frontier's comptroller holds the real values):
# liquidation incentive 1.08, close factor 0.5 at every health factor.
LIQUIDATION_BONUS = 0.08
CLOSE_FACTOR = 0.5


def kind(i):
    if NAMES[i] == "DOLA":
        return "stable"
    if NAMES[i].startswith("ETH-"):
        return "native"
    return "governance"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    text = open(src, encoding="utf-8").read()
    data = json.loads(text[text.index("=") + 1:].strip().rstrip(";"))
    n = len(data["markets"])
    if n != len(NAMES):
        sys.exit(f"{src}: {n} markets, expected {len(NAMES)}")
    cf, prices = data["collateralFactors"], data["prices"]
    supplied = [0.0] * n
    rows = []
    for p in data["positions"]:
        for side, items in (("collateral", p["supplied"]), ("debt", p["borrowed"])):
            for item in items:
                if item["balance"] > 0:
                    i = item["marketIndex"]
                    rows.append(("frontier", p["account"], NAMES[i], side, repr(float(item["balance"]))))
                    if side == "collateral":
                        supplied[i] += item["balance"]
    os.makedirs(out, exist_ok=True)
    lines = [
        "# Inverse Finance Frontier (Compound v2 fork, Ethereum) on 2024-04-09 13:13 UTC, converted by",
        "# examples/frontier/convert.py from InverseFinance/inverse-web fixtures/frontier-snapshot.ts.",
        "# Prices: the oracle's (USD per whole token). LTV = LT = the market's collateral factor; bonus and",
        "# close factor are Compound's defaults (the file does not hold them). Liquidity is assumed.",
        'name = "inverse-frontier-2024-04-09"',
        'positions = ["positions.csv"]',
        "",
    ]
    for i in range(n):
        adv = max(1e6, supplied[i] * prices[i])
        lines += [
            "[[asset]]",
            f'id = "{NAMES[i]}"',
            f'kind = "{kind(i)}"',
            f"price = {float(prices[i])!r}",
            f'liquidity = {{ curve = "power_law", adv_usd = {adv!r}, k = 0.1, alpha = 0.5, assumed = true }}',
            "",
        ]
    lines += [
        "[[protocol]]",
        'id = "frontier"',
        'kind = "lending"',
        f"close_factor = {CLOSE_FACTOR}",
        f"full_close_factor = {CLOSE_FACTOR}",
        "",
    ]
    for i in range(n):
        lines += [
            "[[protocol.reserve]]",
            f'asset = "{NAMES[i]}"',
            f"ltv = {cf[i]!r}",
            f"liquidation_threshold = {cf[i]!r}",
            f"liquidation_bonus = {LIQUIDATION_BONUS}",
            "",
        ]
    with open(os.path.join(out, "snapshot.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out, "positions.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["protocol", "account", "asset", "side", "amount"])
        w.writerows(rows)
    print(f"wrote {out}/snapshot.toml and positions.csv: {n} markets, {len(rows)} positions", file=sys.stderr)


if __name__ == "__main__":
    main()
