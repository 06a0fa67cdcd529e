#!/usr/bin/env python3
"""An ordo exec plugin: how to connect ordo to the systems that do the work.

ordo runs this program once per attempt, without a shell, and writes one JSON
request to its stdin:

  {"protocol": 1, "action": "inventory.reserve_port", "order": "ORD-1002",
   "task": "1/reserve_port", "attempt": 1,
   "idempotency_key": "ORD-1002/1/reserve_port", "undo": false,
   "inputs": {"exchange": "...", "hold": "14d"}}

It answers with one JSON object on stdout and its exit status:

  {"outputs": {...}}                          exit 0   success
  {"error": "...", "retryable": true}         exit 75  try again later
  {"error": "..."}                            exit 1   permanent failure

Anything written to stderr goes to the order's log.

This one keeps its "systems" as JSON files under $ORDO_PLUGIN_DIR (default
./.ordo-plugin-state): port reservations, shipments and circuits. A real
plugin would call the inventory, the warehouse and the network instead.
Every action is idempotent on the request's idempotency key: ordo may send
the same request again after a retry or a crash, and it must not reserve a
second port or ship a second router.
"""
import datetime
import hashlib
import json
import os
import re
import sys

STATE = os.environ.get("ORDO_PLUGIN_DIR", ".ordo-plugin-state")


class Retry(Exception):
    """A failure worth another attempt (the other system is busy or down)."""


class Refuse(Exception):
    """A failure no retry will fix."""


def path(kind, name):
    folder = os.path.join(STATE, kind)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".json")


def load(kind, name):
    try:
        with open(path(kind, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save(kind, name, record):
    target = path(kind, name)
    with open(target + ".tmp", "w") as f:
        json.dump(record, f, indent=2)
    os.replace(target + ".tmp", target)  # all or nothing, even if killed


def short(text):
    return hashlib.sha256(text.encode()).hexdigest()[:8].upper()


def seconds(duration):
    """ordo durations: 500ms, 30s, 5m, 2h, 14d."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", duration)
    if not m:
        raise Refuse("not a duration: %r" % duration)
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return int(m.group(1)) * unit


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def reserve_port(req, inp):
    done = load("reservations", req["idempotency_key"])
    if done:
        return done["outputs"]  # the same request again: the same answer
    taken = len(os.listdir(os.path.dirname(path("ports", "x"))))
    port = "%s/port-%d" % (inp["exchange"], taken + 1)
    expires = now() + datetime.timedelta(seconds=seconds(inp["hold"]))
    save("ports", port, {"port": port, "order": req["order"]})
    outputs = {"port": port, "expires": expires.isoformat().replace("+00:00", "Z")}
    save("reservations", req["idempotency_key"], {"outputs": outputs})
    print("reserved %s until %s" % (port, outputs["expires"]), file=sys.stderr)
    return outputs


def release_port(req, inp):
    try:
        os.remove(path("ports", inp["port"]))
        print("released %s" % inp["port"], file=sys.stderr)
    except FileNotFoundError:
        pass  # already released: releasing again is no error
    return {}


def ship(req, inp):
    done = load("shipments", req["idempotency_key"])
    if done:
        return done["outputs"]
    eta = (now() + datetime.timedelta(days=2)).date().isoformat()
    outputs = {"tracking": "TRK-" + short(req["idempotency_key"]), "eta": eta}
    save("shipments", req["idempotency_key"], {"request": inp, "outputs": outputs})
    print("shipped %s x %s to %s" % (inp["quantity"], inp["item"], inp["address"]), file=sys.stderr)
    return outputs


def activate(req, inp):
    if load("ports", inp["port"]) is None:
        raise Refuse("port %s is not reserved" % inp["port"])
    circuit = "CIR-" + short(inp["port"])
    save("circuits", circuit, {"port": inp["port"], "speed": inp["speed"]})
    return {"circuit": circuit}


ACTIONS = {
    "inventory.reserve_port": reserve_port,
    "inventory.release_port": release_port,
    "logistics.ship": ship,
    "network.activate": activate,
}


def main():
    req = json.load(sys.stdin)
    if req.get("protocol") != 1:
        print(json.dumps({"error": "unsupported protocol %r" % req.get("protocol")}))
        return 1
    handler = ACTIONS.get(req["action"])
    if handler is None:
        print(json.dumps({"error": "this plugin does not implement %s" % req["action"]}))
        return 1
    try:
        outputs = handler(req, req["inputs"])
    except Retry as e:
        print(json.dumps({"error": str(e), "retryable": True}))
        return 75
    except Refuse as e:
        print(json.dumps({"error": str(e), "retryable": False}))
        return 1
    print(json.dumps({"outputs": outputs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
