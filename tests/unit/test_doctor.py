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
