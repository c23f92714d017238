#!/usr/bin/env python3
"""The reconciliation an analyst would write in SQL on DuckDB: the baseline
that benches/sql_vs_engine.sh times against episode-recon.

Usage: benches/sql_baseline.py DATA OUT
  DATA  a folder as `episode-recon generate` writes it: claims/*.csv (read
        as one input), definitions-claims-only/*.toml, target_prices.csv
  OUT   folder for episodes.csv (same columns and row order as the engine's)

It follows docs/CONTRACT.md as far as plain SQL reasonably goes; what it
leaves out is listed in SIMPLIFICATIONS below and printed with --explain.
Only the SQL work (CSV reads, queries, writing the CSV) is timed; DuckDB
runs with its default thread count (all cores).
"""
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import duckdb

SIMPLIFICATIONS = """\
- rows: only bad amounts are rejected (their whole version with them, as the
  contract says); other row checks (missing fields, bad dates or codes,
  from > thru, duplicate lines, inconsistent claims) are not made, and a bad
  date fails the whole read; no rejects.csv.
- reading: fields are not trimmed; dates only as YYYY-MM-DD; amounts beyond
  DECIMAL(18,2), target prices beyond DECIMAL(18,6); --as-of not supported.
- definitions and target prices are trusted: no check of unknown keys, ranges
  or duplicate price rows.
- outputs: episodes.csv only (no ledger, providers, rejects, summary), so no
  stop-gain/stop-loss and no nothing-is-lost check."""

# Columns the reconciliation uses, typed explicitly: DuckDB's type sniffing
# would read drg `066` as the number 66 and allowed_amount as DOUBLE (and fail
# on the rare bad row past its sample), so the amount is read as text and
# validated below. Unused columns (npi, revenue_code) are skipped by DuckDB.
# The CSV dialect is given too: the sniffer, seeing no quote in its sample,
# would read the file unquoted and split a quoted "12,50" in two.
CLAIM_COLUMNS = {
    "claim_id": "VARCHAR", "line_number": "INTEGER", "beneficiary_id": "VARCHAR",
    "claim_type": "VARCHAR", "from_date": "DATE", "thru_date": "DATE",
    "allowed_amount": "VARCHAR", "record_type": "VARCHAR", "processed_date": "DATE",
    "admission_date": "DATE", "discharge_date": "DATE", "line_date": "DATE",
    "provider_id": "VARCHAR", "npi": "VARCHAR", "drg": "VARCHAR",
    "principal_dx": "VARCHAR", "hcpcs": "VARCHAR", "revenue_code": "VARCHAR",
}


def norm_drg(code):
    """DRGs of digits are zero-padded to 3 (`66`, `0066` -> `066`)."""
    code = code.strip()
    return code.lstrip("0").rjust(3, "0") if code.isdigit() else code.upper()


def load_definitions(con, folder):
    """Parses the TOML in Python and loads it into four small tables."""
    con.execute("""
        CREATE TABLE defs (episode_type VARCHAR, lookback_days INTEGER, post_days INTEGER,
                           period VARCHAR, discount DECIMAL(18,9), cap_num BIGINT, cap_den BIGINT);
        CREATE TABLE triggers (episode_type VARCHAR, setting VARCHAR, code VARCHAR,
                               price_group VARCHAR);
        CREATE TABLE incl (episode_type VARCHAR, claim_type VARCHAR, prorate BOOLEAN);
        CREATE TABLE excl (episode_type VARCHAR, rule VARCHAR, code VARCHAR);
    """)
    for path in sorted(Path(folder).glob("*.toml")):
        with open(path, "rb") as f:
            d = tomllib.load(f, parse_float=Decimal)  # decimals read exactly
        t, trig, win, inc = d["id"], d["trigger"], d["window"], d["include"]
        exc, pricing = d.get("exclude", {}), d["pricing"]
        # The cap is the value at rank ceil(p/100 * n): keep p/100 as an exact
        # fraction so SQL can compute the rank in integers.
        p = Decimal(str(pricing.get("high_cost_percentile", "100"))) / 100
        cap_num, cap_den = p.as_integer_ratio()
        con.execute("INSERT INTO defs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [t, win.get("lookback_days", 0), win["post_days"], pricing["period"],
                     str(pricing.get("discount", "0")), cap_num, cap_den])
        groups = trig.get("price_groups", {})
        drg_groups = {norm_drg(k): v for k, v in groups.items()}
        hcpcs_groups = {k.strip().upper(): v for k, v in groups.items()}
        for code in sorted({norm_drg(c) for c in trig.get("drg", [])}):
            con.execute("INSERT INTO triggers VALUES (?, 'IP', ?, ?)",
                        [t, code, drg_groups.get(code, code)])
        for code in sorted({c.strip().upper() for c in trig.get("hcpcs", [])}):
            con.execute("INSERT INTO triggers VALUES (?, 'OP', ?, ?)",
                        [t, code, hcpcs_groups.get(code, code)])
        prorate = set(inc.get("prorate", []))
        for ct in sorted(set(inc["claim_types"])):
            con.execute("INSERT INTO incl VALUES (?, ?, ?)", [t, ct, ct in prorate])
        # One statement per list: the list is a parameter, unnested in SQL.
        lists = {"drg": [norm_drg(c) for c in exc.get("drg", [])],
                 "hcpcs": [c.strip().upper() for c in exc.get("hcpcs", [])],
                 "principal_dx": [c.strip().upper().replace(".", "")
                                  for c in exc.get("principal_dx", [])]}
        for rule, codes in lists.items():
            con.execute("INSERT INTO excl SELECT ?, ?, unnest(?::VARCHAR[])", [t, rule, codes])


SQL = r"""
-- Claim lines, typed, with the contract's defaults and code normal forms.
CREATE TABLE claims AS
SELECT claim_id, line_number, beneficiary_id, upper(claim_type) AS claim_type,
       from_date, thru_date,
       -- a whole number of cents, else NULL: the row is a bad_amount
       CASE WHEN regexp_full_match(allowed_amount, '[+-]?[0-9]+(\.[0-9]{1,2}0*)?')
            THEN allowed_amount::DECIMAL(18,2) END AS allowed,
       coalesce(upper(record_type), 'O') AS record_type,
       coalesce(processed_date, thru_date) AS processed_date,
       coalesce(admission_date, from_date) AS admission_date,
       coalesce(discharge_date, thru_date) AS discharge_date,
       coalesce(line_date, from_date) AS line_date,
       provider_id,
       CASE WHEN regexp_full_match(drg, '[0-9]+') THEN lpad(ltrim(drg, '0'), 3, '0')
            ELSE upper(drg) END AS drg,
       upper(replace(principal_dx, '.', '')) AS principal_dx,
       upper(hcpcs) AS hcpcs
FROM read_csv($claims, header = true, delim = ',', quote = '"', escape = '"',
              columns = $columns);

-- Final action: per claim the version processed last (tie V > R > O); a
-- version with a rejected row is treated as never received; voids count nowhere.
CREATE TABLE fa AS
WITH rejected AS (
    SELECT DISTINCT beneficiary_id, claim_id, record_type, processed_date
    FROM claims WHERE allowed IS NULL)
SELECT c.* FROM claims c
ANTI JOIN rejected USING (beneficiary_id, claim_id, record_type, processed_date)
QUALIFY rank() OVER (PARTITION BY beneficiary_id, claim_id
                     ORDER BY processed_date DESC,
                              CASE record_type WHEN 'V' THEN 3 WHEN 'R' THEN 2 ELSE 1 END DESC) = 1
    AND record_type <> 'V';

-- Triggers, then episodes: taken in order of anchor start then claim_id, a
-- trigger opens an episode only when its anchor start is past the end of the
-- last one opened (a recursive walk, one step per trigger of a beneficiary),
-- and a window never reaches back into the previous episode.
CREATE TABLE episodes AS
WITH RECURSIVE
ip AS (
    SELECT DISTINCT t.episode_type, f.beneficiary_id, f.claim_id, f.provider_id,
           t.price_group, f.admission_date AS anchor_start, f.discharge_date AS anchor_end
    FROM fa f JOIN triggers t ON t.setting = 'IP' AND t.code = f.drg
    WHERE f.claim_type = 'IP' AND f.provider_id IS NOT NULL),
op AS (  -- the earliest matching line (line_date, line_number) names the group
    SELECT t.episode_type, f.beneficiary_id, f.claim_id, any_value(f.provider_id) AS provider_id,
           arg_min(t.price_group, (f.line_date, f.line_number)) AS price_group,
           min(f.line_date) AS anchor_start, min(f.line_date) AS anchor_end
    FROM fa f JOIN triggers t ON t.setting = 'OP' AND t.code = f.hcpcs
    WHERE f.claim_type = 'OP' AND f.provider_id IS NOT NULL
    GROUP BY t.episode_type, f.beneficiary_id, f.claim_id),
cand AS (
    SELECT c.*, d.lookback_days, d.post_days,
           row_number() OVER (PARTITION BY c.episode_type, c.beneficiary_id
                              ORDER BY c.anchor_start, c.claim_id) AS rn
    FROM (SELECT * FROM ip UNION ALL SELECT * FROM op) c JOIN defs d USING (episode_type)),
walk AS (
    SELECT *, true AS opens, anchor_start - lookback_days AS start_date,
           anchor_end + post_days - 1 AS end_date, anchor_end + post_days - 1 AS last_end
    FROM cand WHERE rn = 1
    UNION ALL
    SELECT c.*, c.anchor_start > w.last_end,
           greatest(c.anchor_start - c.lookback_days, w.last_end + 1),
           c.anchor_end + c.post_days - 1,
           CASE WHEN c.anchor_start > w.last_end THEN c.anchor_end + c.post_days - 1
                ELSE w.last_end END
    FROM walk w JOIN cand c ON c.episode_type = w.episode_type
         AND c.beneficiary_id = w.beneficiary_id AND c.rn = w.rn + 1)
SELECT episode_type || ':' || beneficiary_id || ':' || claim_id AS episode_id,
       episode_type, beneficiary_id, provider_id, claim_id AS anchor_claim_id,
       price_group, start_date, end_date
FROM walk WHERE opens;

-- What each episode takes in: its anchor claim whole, and the lines of other
-- claims (not anchors of the type) that its window takes in, per claim type.
CREATE TABLE ledger AS
WITH anchor AS (
    SELECT e.episode_id, f.allowed AS included
    FROM episodes e JOIN fa f
      ON f.beneficiary_id = e.beneficiary_id AND f.claim_id = e.anchor_claim_id),
taken AS (
    SELECT e.episode_id, e.episode_type, f.*, i.prorate,
           f.thru_date - f.from_date + 1 AS n,
           least(f.thru_date, e.end_date) - greatest(f.from_date, e.start_date) + 1 AS k
    FROM episodes e
    JOIN fa f ON f.beneficiary_id = e.beneficiary_id
    JOIN incl i ON i.episode_type = e.episode_type AND i.claim_type = f.claim_type
    WHERE NOT EXISTS (SELECT 1 FROM episodes a WHERE a.episode_type = e.episode_type
                      AND a.beneficiary_id = f.beneficiary_id AND a.anchor_claim_id = f.claim_id)
      AND CASE WHEN i.prorate THEN f.from_date <= e.end_date AND f.thru_date >= e.start_date
               WHEN f.claim_type = 'IP' THEN f.admission_date BETWEEN e.start_date AND e.end_date
               WHEN f.claim_type IN ('SNF', 'HHA', 'HOS')
                    THEN f.from_date BETWEEN e.start_date AND e.end_date
               ELSE f.line_date BETWEEN e.start_date AND e.end_date END),
judged AS (
    SELECT t.*, coalesce(
        (t.claim_type = 'IP' AND t.drg IN (SELECT code FROM excl x
             WHERE x.episode_type = t.episode_type AND x.rule = 'drg'))
        OR t.hcpcs IN (SELECT code FROM excl x
             WHERE x.episode_type = t.episode_type AND x.rule = 'hcpcs')
        OR EXISTS (SELECT 1 FROM excl x WHERE x.episode_type = t.episode_type
             AND x.rule = 'principal_dx' AND (x.code = t.principal_dx OR
                 (suffix(x.code, '*') AND starts_with(t.principal_dx, rtrim(x.code, '*'))))),
        false) AS excluded,
        (t.allowed * 100)::BIGINT * t.k AS scaled  -- allowed x k, in cents
    FROM taken t)
SELECT episode_id, included FROM anchor
UNION ALL
SELECT episode_id,
       CASE WHEN excluded THEN 0.00
            -- allowed x k / n rounded half away from zero, in exact integers
            WHEN prorate AND k < n
                 THEN (sign(scaled) * ((abs(scaled) * 2 + n) // (2 * n)))::DECIMAL(18,0) * 0.01
            ELSE allowed END::DECIMAL(18,2)
FROM judged;

-- Totals, high-cost cap, target prices (provider's own row, else `*`).
CREATE TABLE prices AS
SELECT * FROM read_csv($prices, header = true, delim = ',', quote = '"', escape = '"', columns = {
    'episode_type': 'VARCHAR', 'provider_id': 'VARCHAR', 'price_group': 'VARCHAR',
    'period': 'VARCHAR', 'target_price': 'DECIMAL(18,6)'});

COPY (
WITH totals AS (
    SELECT e.*, d.discount, d.cap_num, d.cap_den,
           CASE d.period WHEN 'year' THEN strftime(e.end_date, '%Y')
                ELSE strftime(e.end_date, '%Y') || 'Q' || quarter(e.end_date) END AS period,
           l.claim_lines, l.actual_amount
    FROM episodes e JOIN defs d USING (episode_type)
    JOIN (SELECT episode_id, count(*) AS claim_lines, sum(included)::DECIMAL(18,2) AS actual_amount
          FROM ledger GROUP BY episode_id) l USING (episode_id)),
ranked AS (
    SELECT *, row_number() OVER (g ORDER BY actual_amount) AS rk, count(*) OVER g AS cnt
    FROM totals WINDOW g AS (PARTITION BY episode_type, price_group, period)),
caps AS (
    SELECT episode_type, price_group, period, actual_amount AS cap FROM ranked
    WHERE rk = (cap_num * cnt + cap_den - 1) // cap_den),
priced AS (
    SELECT t.*, least(t.actual_amount, c.cap) AS capped_amount,
           round(coalesce(own.target_price, star.target_price) * (1 - t.discount), 2)
               ::DECIMAL(18,2) AS target_amount
    FROM totals t JOIN caps c USING (episode_type, price_group, period)
    LEFT JOIN prices own ON own.episode_type = t.episode_type AND own.provider_id = t.provider_id
         AND own.price_group = t.price_group AND own.period = t.period
    LEFT JOIN prices star ON star.episode_type = t.episode_type AND star.provider_id = '*'
         AND star.price_group = t.price_group AND star.period = t.period)
SELECT episode_id, episode_type, beneficiary_id, provider_id, anchor_claim_id, price_group,
       start_date, end_date, period,
       CASE WHEN target_amount IS NULL THEN 'no_target_price' ELSE 'priced' END AS status,
       claim_lines, actual_amount, capped_amount, target_amount,
       target_amount - capped_amount AS gain_loss
FROM priced ORDER BY episode_id
) TO $out (HEADER, DELIMITER ',');
"""


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--explain":
        print(SIMPLIFICATIONS)
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()  # in memory, default threads: all cores
    # The claims-only definitions: the SQL knows no enrollment or risk, so
    # both sides price the same episodes (`generate` writes both folders).
    load_definitions(con, data / "definitions-claims-only")
    params = {"claims": str(data / "claims" / "*.csv"), "columns": CLAIM_COLUMNS,
              "prices": str(data / "target_prices.csv"), "out": str(out / "episodes.csv")}
    started = time.perf_counter()
    for statement in SQL.split(";\n\n"):
        if statement.strip():
            names = {k: v for k, v in params.items() if "$" + k in statement}
            con.execute(statement, names)
    seconds = time.perf_counter() - started
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"sql_seconds {seconds:.3f} threads {threads}")


if __name__ == "__main__":
    main()
