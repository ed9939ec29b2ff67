#!/usr/bin/python3
"""systemd-standin.py - a STAND-IN for systemd's D-Bus manager, for tests only.

systemd is not PID 1 where the tests run, so this plays the part of
org.freedesktop.systemd1 on a private dbus-daemon: Subscribe, ReloadUnit
and ReloadOrRestartUnit return a job object path and later emit
JobRemoved(id, job, unit, result), as systemd does (systemd.dbus(5)).

Usage: systemd-standin.py ADDRESS CONFIG.json LOG

CONFIG maps unit names to behaviour:
  {"units": {"nginx.service": {"result": "done", "delay_ms": 20,
                               "exec": ["/usr/sbin/nginx", "-s", "reload"]},
             "broken.service": {"result": "failed"},
             "secret.service": {"deny": true},
             "early.service": {"signal_first": true}}}
A unit missing from CONFIG answers NoSuchUnit. "exec" runs (no shell)
before the job ends; a non-zero exit makes the result "failed". LOG gets
one JSON line per call: {"method": ..., "unit": ..., "mode": ...}.
The config file is re-read at every call, so a test can change it.
"""
import json
import subprocess
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.systemd1.Manager"
PATH = "/org/freedesktop/systemd1"


class Manager(dbus.service.Object):
    def __init__(self, bus, config, log):
        super().__init__(bus, PATH)
        self.config = config
        self.log = log
        self.next_id = 1

    def _units(self):
        with open(self.config) as f:
            return json.load(f).get("units", {})

    def _record(self, method, unit, mode):
        with open(self.log, "a") as f:
            f.write(json.dumps({"method": method, "unit": unit, "mode": mode}) + "\n")

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Subscribe(self):
        self._record("Subscribe", "", "")

    @dbus.service.signal(MANAGER, signature="uoss")
    def JobRemoved(self, job_id, path, unit, result):
        pass

    def _job(self, method, unit, mode):
        self._record(method, unit, mode)
        units = self._units()
        if unit not in units:
            raise dbus.exceptions.DBusException(
                "Unit %s not found." % unit,
                name="org.freedesktop.systemd1.NoSuchUnit")
        spec = units[unit]
        if spec.get("deny"):
            raise dbus.exceptions.DBusException(
                "Access denied", name="org.freedesktop.DBus.Error.AccessDenied")
        job_id = self.next_id
        self.next_id += 1
        path = dbus.ObjectPath("%s/job/%d" % (PATH, job_id))
        result = spec.get("result", "done")

        def finish():
            res = result
            if "exec" in spec:
                rc = subprocess.call(spec["exec"], stdin=subprocess.DEVNULL)
                if rc != 0:
                    res = "failed"
            self.JobRemoved(dbus.UInt32(job_id), path, unit, res)
            return False

        if spec.get("signal_first"):
            # JobRemoved before the method reply: clients must cope
            finish()
        elif not spec.get("never"):
            GLib.timeout_add(int(spec.get("delay_ms", 10)), finish)
        return path

    @dbus.service.method(MANAGER, in_signature="ss", out_signature="o")
    def ReloadUnit(self, unit, mode):
        return self._job("ReloadUnit", unit, mode)

    @dbus.service.method(MANAGER, in_signature="ss", out_signature="o")
    def ReloadOrRestartUnit(self, unit, mode):
        return self._job("ReloadOrRestartUnit", unit, mode)


def main():
    address, config, log = sys.argv[1:4]
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    name = dbus.service.BusName("org.freedesktop.systemd1", bus)
    Manager(bus, config, log)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del name


if __name__ == "__main__":
    main()
