#!/usr/bin/env python3
"""Test plugin for ordo's executor: logs every call (start and end, with a
monotonic timestamp) to the file after `--log`, and behaves as its inputs
say:

  wait_for: TASK     before answering, wait until TASK has started (proves overlap)
  sleep_ms: N        take N ms
  fail_until: N      fail retryably (exit 75) while attempt <= N
  fail: "permanent"  fail permanently (exit 1 with an error reply)
  hang: true         start a `sleep` child, write its pid to `pid_file`, never answer
  n: N               the `n` output (default 7)

Outputs: out = "TASK:out", n, echo = the `value` input.
"""
import json
import os
import subprocess
import sys
import time

LOG = sys.argv[sys.argv.index("--log") + 1]
req = json.load(sys.stdin)
inp = req["inputs"]


def log(phase, **extra):
    rec = {
        "phase": phase,
        "t": time.monotonic_ns(),
        "task": req["task"],
        "attempt": req["attempt"],
        "undo": req["undo"],
        "key": req["idempotency_key"],
        "inputs": inp,
    }
    rec.update(extra)
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (json.dumps(rec) + "\n").encode())
    os.close(fd)


def started(task):
    try:
        with open(LOG) as f:
            for line in f:
                rec = json.loads(line)
                if rec["task"] == task and rec["phase"] == "start":
                    return True
    except FileNotFoundError:
        pass
    return False


def reply(obj, code=0, result="ok"):
    log("end", result=result)
    print(json.dumps(obj))
    sys.exit(code)


log("start")
print("called for %s attempt %d" % (req["task"], req["attempt"]), file=sys.stderr)

if inp.get("wait_for"):
    deadline = time.monotonic() + 20
    while not started(inp["wait_for"]) and time.monotonic() < deadline:
        time.sleep(0.02)

if inp.get("hang"):
    child = subprocess.Popen(["sleep", "1000"])
    with open(inp["pid_file"], "w") as f:
        f.write(str(child.pid))
    time.sleep(1000)

time.sleep(inp.get("sleep_ms", 0) / 1000.0)

if req["attempt"] <= inp.get("fail_until", 0):
    reply({"error": "busy, try later", "retryable": True}, 75, "retryable")
if inp.get("fail") == "permanent":
    reply({"error": "refused by the test"}, 1, "permanent")

reply({"outputs": {"out": req["task"] + ":out", "n": inp.get("n", 7), "echo": inp.get("value")}})
