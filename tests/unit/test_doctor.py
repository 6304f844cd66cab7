"""`edgecompress doctor` reports the machine and agrees with `targets` on what runs here."""

import json

from edgecompress.cli import main


def test_doctor_json_matches_targets(capsys):
    assert main(["doctor", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["cpu"] and "CPU" in facts["openvino_devices"]
    assert facts["versions"]["openvino"] and facts["versions"]["ultralytics"]
    assert main(["targets", "--json"]) == 0
    targets = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert set(targets) == set(facts["targets"])
    for name, target in facts["targets"].items():
        assert target["usable"] == targets[name]["usable_here"]
        assert (target["install"] is None) == target["usable"]
    assert facts["targets"]["x86-cpu"]["usable"]
    for name, target in facts["targets"].items():
        assert target["compile_here"] == targets[name]["compile_here"]


def test_doctor_and_targets_print_the_same_state_line(capsys):
    from edgecompress.doctor import target_state_line, target_states

    assert main(["doctor"]) == 0
    doctor = capsys.readouterr().out
    assert main(["targets"]) == 0
    targets = capsys.readouterr().out
    for state in target_states().values():
        line = target_state_line(state)
        assert line in doctor and line in targets
        if state["compile_here"] and not state["usable"]:
            assert "edgecompress lower" in line and "not usable" not in targets
