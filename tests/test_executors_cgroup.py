"""The memory and CPUs ``--jobs`` left unset counts on: a container's (control group's) limits,
not only the machine's. Every file read is a fake one written here (the module's paths are
monkeypatched), so the tests never depend on the limits of the machine they run on.

The file formats are the Linux kernel's (Documentation/admin-guide/cgroup-v2.rst: ``memory.max``,
``memory.current``, ``memory.stat``, ``cpu.max``; cgroup-v1/memory.rst and
scheduler/sched-bwc.rst: ``memory.limit_in_bytes``, ``memory.usage_in_bytes``,
``cpu.cfs_quota_us``, ``cpu.cfs_period_us``; proc(5) for ``/proc/self/cgroup``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specrun import executors

GIB = 1 << 30
# /proc/meminfo of a large host: 64 GiB available to new processes
MEMINFO = "MemTotal:       131072000 kB\nMemFree:         1000000 kB\nMemAvailable:   67108864 kB\n"
# cgroup v1's "no limit", as the kernel prints it on 4 kB pages (LONG_MAX rounded to a page)
V1_UNLIMITED = "9223372036854771712"


def fake_system(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    proc_cgroup: str,
    files: dict[str, str],
    *,
    v2_root: bool = True,
) -> None:
    """A /proc/meminfo, a /proc/self/cgroup holding ``proc_cgroup``, and a cgroup mount whose
    ``files`` (paths under it) hold the given text; the module reads these instead."""
    root = tmp_path / "cgroup"
    root.mkdir()
    if v2_root:
        (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    (tmp_path / "meminfo").write_text(MEMINFO)
    (tmp_path / "proc_cgroup").write_text(proc_cgroup)
    monkeypatch.setattr(executors, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(executors, "PROC_CGROUP", tmp_path / "proc_cgroup")
    monkeypatch.setattr(executors, "CGROUP_ROOT", root)


def test_a_v2_container_limit_is_the_memory_available(tmp_path, monkeypatch):
    # Docker with --memory=2g (cgroup v2, its own namespace: /proc/self/cgroup reads "0::/"),
    # 1 GiB used of which 256 MiB is inactive page cache the kernel reclaims first: 1.25 GiB
    # left, far below the host's 64 GiB, which was all /proc/meminfo showed
    fake_system(
        tmp_path,
        monkeypatch,
        "0::/\n",
        {
            "memory.max": str(2 * GIB),
            "memory.current": str(GIB),
            "memory.stat": f"anon 700000000\nfile 300000000\ninactive_file {GIB // 4}\n",
        },
    )
    assert executors.cgroup_memory_available() == 2 * GIB - GIB + GIB // 4
    assert executors.available_memory() == 2 * GIB - GIB + GIB // 4


def test_max_is_no_limit_and_the_machine_figure_stands(tmp_path, monkeypatch):
    fake_system(tmp_path, monkeypatch, "0::/\n", {"memory.max": "max", "memory.current": "5"})
    assert executors.cgroup_memory_available() is None
    assert executors.available_memory() == 67108864 * 1024  # MemAvailable, in kB


def test_a_parent_groups_limit_binds_its_children(tmp_path, monkeypatch):
    # a SLURM job's step (cgroup v2, no namespace): the job's folder holds the limit, the
    # step's own says max; the process's group is read from /proc/self/cgroup
    job = "system.slice/slurmstepd.scope/job_42"
    fake_system(
        tmp_path,
        monkeypatch,
        f"0::/{job}/step_0/user/task_0\n",
        {
            f"{job}/memory.max": str(3 * GIB),
            f"{job}/memory.current": str(GIB),
            f"{job}/step_0/user/task_0/memory.max": "max",
            f"{job}/step_0/user/task_0/memory.current": str(GIB // 2),
            "memory.max": "max",  # never in a real root, harmless here
        },
    )
    assert executors.cgroup_memory_available() == 2 * GIB


def test_a_v1_limit_and_v1s_no_limit_number(tmp_path, monkeypatch):
    # Kubernetes on cgroup v1: memory.limit_in_bytes at the container's mount point, the host's
    # path in /proc/self/cgroup not visible inside (only the mount point is read)
    files = {
        "memory/memory.limit_in_bytes": str(4 * GIB),
        "memory/memory.usage_in_bytes": str(GIB),
        "memory/memory.stat": f"cache 5\ntotal_inactive_file {GIB // 2}\n",
    }
    fake_system(tmp_path, monkeypatch, "4:memory:/kubepods/pod1/abc\n", files, v2_root=False)
    assert executors.cgroup_memory_available() == 4 * GIB - GIB // 2
    (tmp_path / "cgroup" / "memory" / "memory.limit_in_bytes").write_text(V1_UNLIMITED)
    assert executors.cgroup_memory_available() is None


def test_no_cgroup_files_is_no_limit(tmp_path, monkeypatch):
    fake_system(tmp_path, monkeypatch, "", {}, v2_root=False)
    assert executors.cgroup_memory_available() is None
    assert executors.cgroup_cpus() is None
    assert executors.available_memory() == 67108864 * 1024


@pytest.mark.parametrize(
    ("cpu_max", "quota"),
    [
        ("200000 100000", 2),  # docker --cpus=2
        ("150000 100000", 1),  # 1.5 CPUs: rounded down, as Go's automaxprocs
        ("50000 100000", 1),  # half a CPU: still one process
        ("max 100000", None),  # no quota
    ],
)
def test_a_v2_cpu_quota_caps_the_usable_cpus(tmp_path, monkeypatch, cpu_max, quota):
    fake_system(tmp_path, monkeypatch, "0::/\n", {"cpu.max": cpu_max})
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert executors.cgroup_cpus() == quota
    assert executors.usable_cpus() == (64 if quota is None else quota)


def test_the_affinity_mask_caps_a_larger_quota(tmp_path, monkeypatch):
    # taskset -c 0,1 inside a container allowed 8 CPUs: the smaller of the two
    fake_system(tmp_path, monkeypatch, "0::/\n", {"cpu.max": "800000 100000"})
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {0, 1})
    assert executors.usable_cpus() == 2


def test_a_v1_cfs_quota_caps_the_usable_cpus(tmp_path, monkeypatch):
    files = {"cpu,cpuacct/cpu.cfs_quota_us": "300000", "cpu,cpuacct/cpu.cfs_period_us": "100000"}
    fake_system(tmp_path, monkeypatch, "3:cpu,cpuacct:/docker/abc\n", files, v2_root=False)
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert executors.usable_cpus() == 3
    (tmp_path / "cgroup" / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("-1\n")
    assert executors.usable_cpus() == 16
