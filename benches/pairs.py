#!/usr/bin/env python3
"""Interleaved rounds (A B C A B C ...) of shell commands, for ratios on a shared machine.

Usage: benches/pairs.py [--quiet] ROUNDS NAME::COMMAND ...

Each round runs every command once (through `sh`); printed are each command's median and the
median, round by round, of the first command's time divided by it. With --quiet, a round counts
only if other processes used less than 20 ms of CPU during it (the machine's CPU time from
/proc/stat, in 10 ms ticks, minus this script's children); up to 10 x ROUNDS rounds are tried.
The CPU of a daemon the commands talk to (the agent) counts as another process's: stop it, or
expect more rounds to be dropped.
"""
import os
import resource
import statistics
import subprocess
import sys
import time

args = sys.argv[1:]
quiet = args[:1] == ["--quiet"]
args = args[1:] if quiet else args
rounds, cmds = int(args[0]), [a.split("::", 1) for a in args[1:]]
tick = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    fields = list(map(int, open("/proc/stat").readline().split()[1:]))
    return (sum(fields) - fields[3] - fields[4]) / tick


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(command):
    start = time.perf_counter()
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


times = {name: [] for name, _ in cmds}
dropped, loads = 0, []
for _, command in cmds:
    run(command)  # warm-up
for _ in range(rounds * 10 if quiet else rounds):
    if len(times[cmds[0][0]]) >= rounds:
        break
    machine, children = machine_cpu(), children_cpu()
    row = {name: run(command) for name, command in cmds}
    if quiet and machine_cpu() - machine - (children_cpu() - children) >= 0.02:
        dropped += 1
        continue
    for name, t in row.items():
        times[name].append(t)
    loads.append(os.getloadavg()[0])
first = cmds[0][0]
for name, _ in cmds:
    ratio = statistics.median(a / b for a, b in zip(times[first], times[name]))
    print(f"{name:28s} median {statistics.median(times[name]) * 1e3:8.1f} ms   {first} / it: {ratio:.2f}")
print(f"{len(loads)} rounds ({dropped} dropped); load average {min(loads):.2f}-{max(loads):.2f}")
