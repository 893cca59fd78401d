"""What the sandbox shows of the host: system folders read-only, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.runtime.sandbox import Bind, SandboxSpec, build_command, system_binds
from modelyard.settings import Settings

from .jobkit import make_plan, run
from .test_contract import needs_bwrap


def test_the_command_binds_system_folders_read_only_and_the_job_tree_writable() -> None:
    spec = SandboxSpec(home=Path("/j/home"), cache=Path("/j/cache"), cwd="/home/ma-user",
                       binds=[Bind(Path("/usr/lib/python3"), Path("/usr/lib/python3")),
                              Bind(Path("/data"), Path("/mnt/data"), read_only=False)])
    cmd = build_command("/usr/bin/bwrap", spec, ["python", "t.py"])
    text = " ".join(cmd)
    assert cmd[:6] == ["/usr/bin/bwrap", "--unshare-user", "--uid", "1000", "--gid", "100"]
    for isolation in ("--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                      "--unshare-net", "--cap-drop ALL", "--new-session", "--die-with-parent"):
        assert isolation in text
    assert "--ro-bind /usr /usr" in text and "--ro-bind / /" not in text
    assert "--bind /j/home /home/ma-user --bind /j/cache /cache" in text
    assert "--bind /data /mnt/data" in text
    assert "/usr/lib/python3 /usr/lib/python3" not in text  # already visible through /usr
    assert cmd[-4:] == ["/home/ma-user", "--", "python", "t.py"]
    if Path("/bin").is_symlink():
        assert "--symlink usr/bin /bin" in " ".join(system_binds())


def test_under_root_an_outer_sandbox_builds_the_tree_and_drops_to_the_job_user() -> None:
    """bwrap run as root with --uid 1000 would map the job to host root: the tree is built
    by a privileged bubblewrap, then setpriv drops to the job user before the inner one
    makes the user namespace."""
    spec = SandboxSpec(home=Path("/j/home"), cache=Path("/j/cache"), job_user=(990, 991),
                       own_network=True, tmp_bytes=2**20, shm_bytes=2**21,
                       binds=[Bind(Path("/root/py"), Path("/root/py"))])
    cmd = build_command("/usr/bin/bwrap", spec, ["python", "t.py"], block_fd=7)
    split = cmd.index("--reuid=990")
    outer, inner = cmd[:split], cmd[split:]
    assert "--unshare-user" not in outer and "--unshare-net" not in cmd  # own network
    assert "--perms 0755 --dir /root --ro-bind /root/py /root/py" in " ".join(outer)
    assert ("--size 2097152 --perms 1777 --tmpfs /dev/shm --size 1048576 --perms 1777 --tmpfs "
            "/tmp") in " ".join(outer)
    assert inner[:5] == ["--reuid=990", "--regid=991", "--clear-groups", "--inh-caps=-all",
                         "--bounding-set=-all"]
    text = " ".join(inner)
    assert "--unshare-user --uid 1000 --gid 100 --disable-userns" in text
    assert "--block-fd 7 --chdir /home/ma-user -- python t.py" in text


@pytest.mark.slow
@needs_bwrap
def test_the_job_sees_nothing_of_the_host_but_the_system(settings: Settings) -> None:
    other = settings.jobs_root / "someone-else"
    other.mkdir(parents=True)
    (other / "secret.txt").write_text("x")
    probes = [str(settings.obs_root), str(other), "/root/.config", "/var/log", "/srv"]
    plan = make_plan(settings, f"""
import os
for p in {probes!r}:
    print("VISIBLE:" + p if os.path.exists(p) else "HIDDEN:" + p)
print("USR:" + str(os.path.isdir("/usr/bin")))
""")
    job, state = run(settings.model_copy(update={"sandbox": "bwrap"}), plan)
    assert state.phase == "Completed", job.log
    for p in probes:
        assert f"HIDDEN:{p}" in job.log
    assert "USR:True" in job.log


def test_gpu_devices_are_bound_only_for_a_gpu_flavor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mock: no GPU here, so the device listing is replaced; the arguments are what a GPU
    machine would get."""
    from modelyard.runtime import sandbox

    monkeypatch.setattr(sandbox, "_nvidia_devices", lambda: ["/dev/nvidia0", "/dev/nvidiactl"])
    cpu = SandboxSpec(home=Path("/j/home"), cache=Path("/j/cache"))
    gpu = SandboxSpec(home=Path("/j/home"), cache=Path("/j/cache"), gpus=True)
    assert "/dev/nvidia0" not in build_command("/usr/bin/bwrap", cpu, ["true"])
    text = " ".join(build_command("/usr/bin/bwrap", gpu, ["true"]))
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0 --dev-bind /dev/nvidiactl /dev/nvidiactl" in text


def test_an_image_replaces_the_host_system_folders(tmp_path: Path) -> None:
    """Issue 15: the image's top-level entries, read-only, symlinks as symlinks; its /home,
    /proc, /dev, /tmp are the sandbox's own; generated files only where they can go."""
    from modelyard.runtime.sandbox import SandboxSpec, build_command, image_root

    root = tmp_path / "rootfs"
    for d in ("usr/bin", "etc", "home/ma-user", "proc", "srv"):
        (root / d).mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "etc" / "hosts").write_text("stale")
    args, visible = image_root(root)
    at = args.index(str(root / "usr"))
    assert args[at - 1:at + 2] == ["--ro-bind", str(root / "usr"), "/usr"]
    assert args[:3] == ["--symlink", "usr/bin", "/bin"]
    assert str(root / "home") not in args and str(root / "proc") not in args
    assert visible(Path("/srv/data")) and not visible(Path("/home/ma-user"))
    spec = SandboxSpec(home=tmp_path, cache=tmp_path, rootfs=root,
                       files={"/etc/hosts": tmp_path / "h", "/etc/group": tmp_path / "g"})
    cmd = build_command("/usr/bin/bwrap", spec, ["true"])
    assert str(tmp_path / "h") in cmd  # over the image's own /etc/hosts
    assert str(tmp_path / "g") not in cmd  # the image's read-only /etc has no group file
    assert "/usr/lib" not in " ".join(cmd)  # nothing of the host's system folders


def test_a_gpu_job_in_an_image_gets_the_host_driver_at_usr_local_nvidia(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mock: no GPU here, so the devices and driver files are stand-ins; the arguments are
    what a GPU machine would get (issue 15)."""
    from modelyard.runtime import sandbox

    driver = tmp_path / "driver"
    driver.mkdir()
    (driver / "libcuda.so.550.1").write_text("x")
    (driver / "libcuda.so.1").symlink_to("libcuda.so.550.1")
    (driver / "nvidia-smi").write_text("x")
    monkeypatch.setattr(sandbox, "_nvidia_devices", lambda: ["/dev/nvidia0"])
    monkeypatch.setattr(sandbox, "nvidia_driver_files",
                        lambda: [driver / "libcuda.so.1", driver / "nvidia-smi"])
    root = tmp_path / "rootfs"
    for d in ("usr/bin", "usr/local/bin", "etc"):
        (root / d).mkdir(parents=True)
    gpu = SandboxSpec(home=tmp_path, cache=tmp_path, rootfs=root, gpus=True)
    text = " ".join(build_command("/usr/bin/bwrap", gpu, ["true"]))
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0" in text
    assert f"--ro-bind {driver / 'libcuda.so.550.1'} /usr/local/nvidia/lib64/libcuda.so.1" in text
    assert f"--ro-bind {driver / 'nvidia-smi'} /usr/local/nvidia/bin/nvidia-smi" in text
    assert f"--perms 0755 --tmpfs /usr --ro-bind {root / 'usr/bin'} /usr/bin" in text
    assert f"--ro-bind {root / 'usr/local/bin'} /usr/local/bin" in text
    cpu = SandboxSpec(home=tmp_path, cache=tmp_path, rootfs=root)
    text = " ".join(build_command("/usr/bin/bwrap", cpu, ["true"]))
    assert "nvidia" not in text and f"--ro-bind {root / 'usr'} /usr" in text
