"""fashionlab.common.machine: the CPU record every published figure names, read from /proc/cpuinfo."""

from fashionlab.common.machine import bytes_from, cpu_summary, describe_machine, parse_cpuinfo, run_record

AVX2_ONLY = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma
"""
SAPPHIRE_RAPIDS = (
    "model name : Intel(R) Xeon(R) Platinum 8480+\nflags : avx2 avx512f avx512_bf16 avx512_vnni amx_tile\n"
)


def test_model_and_flags_of_the_first_processor():
    assert parse_cpuinfo(AVX2_ONLY) == ("AMD EPYC 7B13", {"fpu", "sse2", "avx", "avx2", "fma"})


def test_each_speed_flag_is_checked_and_named(tmp_path):
    (tmp_path / "avx2").write_text(AVX2_ONLY)
    (tmp_path / "spr").write_text(SAPPHIRE_RAPIDS)
    avx2, spr = describe_machine(tmp_path / "avx2"), describe_machine(tmp_path / "spr")
    assert avx2["cpu_flags"] == {
        "avx2": True,
        "avx512f": False,
        "avx512_bf16": False,
        "avx512_vnni": False,
        "amx": False,
    }
    assert all(spr["cpu_flags"].values())
    assert cpu_summary({**avx2, "cpu_cores": 2}) == "AMD EPYC 7B13, 2 cores, AVX2, no AVX-512, no AMX"
    assert cpu_summary({**spr, "cpu_cores": 8}) == "Intel(R) Xeon(R) Platinum 8480+, 8 cores, AVX-512 (BF16, VNNI), AMX"


def test_unreadable_flags_are_unknown_not_absent(tmp_path):
    machine = describe_machine(tmp_path / "no-cpuinfo")
    assert machine["cpu_flags"] is None
    assert cpu_summary(machine).endswith("instruction sets not read")


def test_portable_runs_of_two_cpus_have_the_same_bytes_and_native_ones_do_not(tmp_path):
    """What `fashionlab compare` groups runs by when it says that a group mixes machines."""
    (tmp_path / "avx2").write_text(AVX2_ONLY)
    (tmp_path / "spr").write_text(SAPPHIRE_RAPIDS)
    cpus = [describe_machine(tmp_path / name) for name in ("avx2", "spr")]

    def made_by(mode: str) -> set[str]:
        numerics = {"numerics": mode, "environment": {}}
        return {bytes_from(run_record(cpu, mode == "native", "2.21.0", numerics)) for cpu in cpus}

    assert made_by("portable") == {"portable numerics, TensorFlow 2.21.0"}
    native = made_by("native")
    assert len(native) == 2 and all("native numerics" in summary for summary in native)
    assert {summary.split(",")[0] for summary in native} == {"AMD EPYC 7B13", "Intel(R) Xeon(R) Platinum 8480+"}
    assert bytes_from({"cpu_model": "a run made before machine.json had a summary"}) is None
