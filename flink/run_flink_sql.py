"""Runs a Flink SQL script (as `streamctl export flink-sql` writes it) with PyFlink's TableEnvironment.

SET statements become configuration of the environment (the TableEnvironment takes no SET statements);
every other statement runs through execute_sql, and INSERT statements are waited for.

usage: run_flink_sql.py SCRIPT [--mode streaming|batch] [--explain]
"""
import argparse
import re
import sys


def statements(text):
    """The script's statements without comments, split at semicolons outside quotes."""
    out, current, quote = [], [], None
    for line in text.splitlines():
        if quote is None and line.lstrip().startswith("--"):
            continue
        for ch in line:
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'`":
                quote = ch
            elif ch == ";":
                stmt = "".join(current).strip()
                if stmt:
                    out.append(stmt)
                current = []
                continue
            current.append(ch)
        current.append("\n")
    rest = "".join(current).strip()
    if rest:
        out.append(rest)
    return out


SET = re.compile(r"^SET\s+'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'$", re.S)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("script")
    parser.add_argument("--mode", choices=["streaming", "batch"], default="streaming")
    parser.add_argument("--explain", action="store_true", help="plan the INSERT instead of running it")
    args = parser.parse_args()

    from pyflink.table import EnvironmentSettings, TableEnvironment

    settings = EnvironmentSettings.in_streaming_mode() if args.mode == "streaming" else EnvironmentSettings.in_batch_mode()
    env = TableEnvironment.create(settings)
    config = env.get_config()
    with open(args.script, encoding="utf-8") as f:
        text = f.read()
    for stmt in statements(text):
        m = SET.match(stmt)
        if m:
            config.set(m.group(1).replace("''", "'"), m.group(2).replace("''", "'"))
        elif stmt.upper().startswith("INSERT"):
            if args.explain:
                print(env.explain_sql(stmt))
            else:
                env.execute_sql(stmt).wait()
        else:
            env.execute_sql(stmt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
