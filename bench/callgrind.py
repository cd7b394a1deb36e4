"""Instructions per warm invocation, counted by valgrind's callgrind.

Instruction counts repeat from run to run, unlike on-CPU time on a shared virtual machine,
so this is how steps that change user-space work are compared (bench/RESULTS.md).

    python3 bench/callgrind.py [--binary PATH] [--warm M] [--out FILE]

The function runs under callgrind against the same emulator, moto, local Slack and local CA
(HTTPS, trusted through SSL_CERT_FILE) as bench/run.py. After one cold and five warm invocations the counters are zeroed
(callgrind_control -z), M warm invocations run, and the counters are dumped (-d). Build
with `cargo build --profile profiling` and pass that binary to see function names with
`callgrind_annotate --inclusive=yes FILE.1`.
"""

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = bench
spec.loader.exec_module(bench)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=bench.default_binary())
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "slack-notifier.callgrind")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print(f"{tool} not found (apt-get install valgrind)", file=sys.stderr)
            return 1
    tmp = Path(tempfile.mkdtemp(prefix="slack-notifier-callgrind-"))
    wrapper = tmp / "under-callgrind.sh"
    wrapper.write_text(f"#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file={args.out} "
                       f"{args.binary.resolve()}\n")
    wrapper.chmod(0o755)
    bench.INIT_TIMEOUT_S = 120  # valgrind starts slowly
    ca = bench.LocalCA(tmp)
    moto_server, moto_port, boto3 = bench.start_moto()
    slack = bench.Slack(ca.server_context())
    proxy = bench.CountingProxy(moto_port, ca.server_context())
    fn = None
    try:
        bench.create_secret(boto3, moto_port, slack.url)
        home = tmp / "home"
        home.mkdir()
        env = bench.function_env(home, proxy.url, ca.ca_file)
        runner = bench.Bench(wrapper, env, slack, proxy, tmp, time.monotonic() + 600)
        fn = runner.new_function("callgrind")
        fn.start()
        for _ in range(6):
            runner.invoke_checked(fn)
        fn.wait_parked()
        subprocess.run(["callgrind_control", "-z"], check=True, capture_output=True)
        for _ in range(args.warm):
            runner.invoke_checked(fn)
        fn.wait_parked()
        subprocess.run(["callgrind_control", "-d"], check=True, capture_output=True)
        time.sleep(1)
    finally:
        if fn is not None:
            fn.stop()
        proxy.server.stop()
        slack.server.stop()
        moto_server.stop()
    dump = Path(f"{args.out}.1")
    totals = re.search(r"^(?:summary|totals):\s+(\d+)", dump.read_text(), re.M)
    if not totals:
        print(f"no totals in {dump}", file=sys.stderr)
        return 1
    total = int(totals.group(1))
    print(f"{total / args.warm:,.0f} instructions per warm invocation "
          f"({total:,} over {args.warm}); profile: {dump}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
