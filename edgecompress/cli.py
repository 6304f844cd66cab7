"""``edgecompress compile | calibrate | sensitivity | report | ...``: main(argv) -> exit code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgecompress.errors import EdgecompressError
from edgecompress.interrupts import Terminated, sigterm_as_interrupt


def _compile(args: argparse.Namespace) -> int:
    from edgecompress.compiler import plan, run
    from edgecompress.demo import demo_checkpoint, demo_data_yaml
    from edgecompress.ui import set_quiet

    set_quiet(args.quiet or args.json)
    model = args.model or (demo_checkpoint() if args.family == "yolo" else None)
    if args.data or (args.model and Path(args.model).is_dir()):  # a LeRobot policy folder needs no data
        data = args.data
    elif args.model or args.family != "yolo":
        raise_input(
            "--data is required with a model",
            "pass --data with the data.yaml or demonstrations (.npz) the model was trained on",
        )
    else:
        data = demo_data_yaml()
    ctx = plan(
        model=model,
        data=data,
        family=args.family,
        target=args.target,
        recipe=None if args.recipe == "default" else args.recipe,
        precision=args.precision,
        out=args.out,
        imgsz=args.imgsz,
        overrides=args.set,
        budget_ms=args.budget_ms,
        resume=args.resume,
        force=args.force,
        command="edgecompress " + " ".join(sys.argv[1:] if args.argv is None else args.argv),
    )
    out = run(ctx)
    return _print_artifact(out, args)


def _print_artifact(out: Path, args: argparse.Namespace) -> int:
    """Print report.json (--json), the folder (--quiet), or the summary table and the folder."""
    from edgecompress.ui import console

    if args.json:
        print((out / "report.json").read_text())
    elif args.quiet:
        print(out)
    else:
        from edgecompress.report import Report
        from edgecompress.report.render import speedup_line, summary_table

        report = Report.read(out / "report.json")
        console.print(summary_table(report))
        if speedup := speedup_line(report):
            console.print(speedup, highlight=False)
        console.print(f"report: {out / 'report.md'}", highlight=False, soft_wrap=True)
        print(out)
    return 0


def _lower(args: argparse.Namespace) -> int:
    from edgecompress.lower_on_device import lower_artifact
    from edgecompress.ui import set_quiet

    set_quiet(args.quiet or args.json)
    out = lower_artifact(args.artifact, args.target, args.data)
    return _print_artifact(out, args)


def raise_input(message: str, hint: str) -> None:
    """Raise an InputError (exit code 2)."""
    from edgecompress.errors import InputError

    raise InputError(message, hint)


def _report(args: argparse.Namespace) -> int:
    from edgecompress.report import Report
    from edgecompress.report.render import render

    path = Path(args.artifact) / "report.json"
    if not path.is_file():
        raise_input(f"{path} not found", "pass an artifact folder written by `edgecompress compile`")
    report = Report.read(path)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    written = render(report, Path(args.artifact))
    print("\n".join(str(p) for p in written))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from edgecompress.calibration_set import build_calibration_set
    from edgecompress.config import load_calibration_spec

    out = Path(args.out)
    if out.exists() and not args.force:
        raise_input(f"{out} already exists", "pass --force to replace it, or another --out")
    if args.imgsz < 32:
        raise_input(f"--imgsz {args.imgsz} is too small", "use the model's input size, e.g. 320 or 640")
    spec = load_calibration_spec(args.calibration)
    calib = build_calibration_set(args.data, spec, args.imgsz)
    calib.save(out)
    print(
        f"{out}: {len(calib.inputs)} images of the {spec.split} split ({spec.selection}, seed {spec.seed}) "
        f"at {args.imgsz}x{args.imgsz}"
    )
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from edgecompress.measure.sensitivity import format_table, layer_sensitivity
    from edgecompress.ui import set_quiet

    set_quiet(args.json)
    if args.images < 1 or (args.top is not None and args.top < 1):
        raise_input("--images and --top must be at least 1", "e.g. --images 50 --top 10")
    result = layer_sensitivity(
        args.model, args.data, args.target, args.calibration, args.imgsz, args.images, args.layers
    )
    if args.top:
        result.rows = result.rows[: args.top]
    print(json.dumps(result.as_dict(), indent=2) if args.json else format_table(result))
    return 0


def _targets(args: argparse.Namespace) -> int:
    from edgecompress.doctor import target_state_line, target_states

    states = target_states()
    if args.json:
        rows = [
            {
                "name": name,
                "backend": t["backend"],
                "precisions": t["precisions"],
                "usable_here": t["usable"],
                "compile_here": t["compile_here"],
                "why_not": t["why_not"],
                "description": t["description"],
            }
            for name, t in states.items()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for name, t in states.items():
        print(f"{name:<12} {t['backend']:<12} {'/'.join(t['precisions']):<20} {target_state_line(t)}")
    return 0


def _recipes(args: argparse.Namespace) -> int:
    from edgecompress.config import load_recipe
    from edgecompress.resources import builtin_names

    for name in builtin_names("recipes"):
        print(f"{name:<20} {load_recipe(name).description}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from edgecompress.doctor import diagnose, target_state_line

    facts = diagnose()
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    gpu = facts["gpu"]
    print(f"cpu        {facts['cpu']} ({', '.join(facts['isa']) or 'no AVX2/AVX-512/AMX/NEON reported'})")
    print(
        f"gpu        {gpu.get('name', 'none')}" + (f", CUDA {gpu['cuda_version']}" if gpu.get("cuda") else "")
    )
    print(f"jetson     {facts['jetson_l4t'] or 'not a Jetson'}")
    print(f"openvino   devices: {', '.join(facts['openvino_devices']) or 'none'}")
    print("versions   " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()))
    for name, t in facts["targets"].items():
        print(f"target     {name:<12} {target_state_line(t)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from edgecompress.stream.command import run_command

    return run_command(args)


def _bag(args: argparse.Namespace) -> int:
    from edgecompress.ros.command import bag_command

    return bag_command(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``edgecompress`` command."""
    parser = argparse.ArgumentParser(prog="edgecompress", description="Compile detectors for edge devices.")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compile", help="compress, lower and measure a model for one target")
    c.add_argument(
        "model",
        nargs="?",
        help="Ultralytics .pt (default: the built-in digits demo), policy .pt, or a SmolVLA folder",
    )
    c.add_argument(
        "--data", help="Ultralytics data yaml (accuracy on its full val split); policies: demos .npz"
    )
    c.add_argument(
        "--family",
        choices=["yolo", "policy", "smolvla"],
        default="yolo",
        help="model family (default yolo; a LeRobot SmolVLA save_pretrained folder is found as smolvla)",
    )
    c.add_argument("--target", default="x86-cpu", help="target name (`edgecompress targets`) or YAML path")
    c.add_argument("--recipe", default="default", help="recipe name (`edgecompress recipes`) or YAML path")
    c.add_argument(
        "--precision",
        choices=["fp32", "bf16", "fp16", "int8"],
        help="default: the recipe's, else the target's",
    )
    c.add_argument("--out", help="artifact folder (default runs/<model>-<target>)")
    c.add_argument("--imgsz", type=int, help="input size (default: the model's training size)")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    c.add_argument(
        "--budget-ms", type=float, help="search the bn_prune ratio for this p50 latency on the target"
    )
    c.add_argument("--force", action="store_true", help="replace an existing --out folder")
    c.add_argument(
        "--resume", action="store_true", help="continue an interrupted compile from its last stage"
    )
    c.add_argument("--quiet", action="store_true", help="print only the artifact path")
    c.add_argument("--json", action="store_true", help="print report.json")
    c.set_defaults(func=_compile)
    low = sub.add_parser(
        "lower", help="on the device: build the TensorRT engine of a compiled artifact, measure and stamp it"
    )
    low.add_argument("artifact", help="artifact folder from `edgecompress compile --target orin-nx`")
    low.add_argument("--target", help="TensorRT target name or YAML path (default: the artifact's)")
    low.add_argument("--data", help="Ultralytics data yaml for mAP (default: the one in report.json)")
    low.add_argument("--quiet", action="store_true", help="print only the artifact path")
    low.add_argument("--json", action="store_true", help="print report.json")
    low.set_defaults(func=_lower)
    cal = sub.add_parser(
        "calibrate", help="build and cache the letterboxed INT8 calibration tensors of a dataset (.npz)"
    )
    cal.add_argument("--data", required=True, help="Ultralytics data yaml")
    cal.add_argument(
        "--calibration", default="default", help="calibration definition name (calibration/) or YAML path"
    )
    cal.add_argument("--imgsz", type=int, default=640, help="network input size (default 640)")
    cal.add_argument("--out", required=True, help="cache file to write (.npz)")
    cal.add_argument("--force", action="store_true", help="replace an existing --out file")
    cal.set_defaults(func=_calibrate)
    sen = sub.add_parser(
        "sensitivity", help="rank layers by the mAP50-95 lost when only that layer is INT8 (OpenVINO)"
    )
    sen.add_argument("model", help="Ultralytics .pt checkpoint")
    sen.add_argument("--data", required=True, help="Ultralytics data yaml (val scores, train calibrates)")
    sen.add_argument("--target", default="x86-cpu", help="an OpenVINO target name or YAML path")
    sen.add_argument("--calibration", default="default", help="calibration definition name or YAML path")
    sen.add_argument("--imgsz", type=int, help="input size (default: the model's training size)")
    sen.add_argument("--images", type=int, default=50, help="seeded subset of val images to score (50)")
    sen.add_argument("--layers", help="only layers whose name matches this regex, e.g. '/model.22/'")
    sen.add_argument("--top", type=int, help="show only the N most sensitive layers")
    sen.add_argument("--json", action="store_true", help="print the ranking as JSON")
    sen.set_defaults(func=_sensitivity)
    r = sub.add_parser("report", help="re-render report.md and the plot from report.json")
    r.add_argument("artifact")
    r.add_argument("--json", action="store_true", help="print report.json")
    r.set_defaults(func=_report)
    t = sub.add_parser("targets", help="list targets and whether their backend runs here")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_targets)
    sub.add_parser("recipes", help="list built-in recipes").set_defaults(func=_recipes)
    d = sub.add_parser("doctor", help="what this machine has and what each target needs")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_doctor)
    from edgecompress.ros.command import add_bag_arguments
    from edgecompress.stream.command import add_run_arguments

    run = sub.add_parser("run", help="run an artifact on a video, camera, stream or image folder")
    add_run_arguments(run)
    run.set_defaults(func=_run)
    bag = sub.add_parser(
        "bag", help="detect on the images of a ROS 2 bag and write the detections to a new bag"
    )
    add_bag_arguments(bag)
    bag.set_defaults(func=_bag)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for bad input, 1 for a failed stage, 130/143 if stopped)."""
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with sigterm_as_interrupt():
            return int(args.func(args))
    except EdgecompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(
            f"error: {'terminated' if isinstance(exc, Terminated) else 'interrupted'} (no artifact was "
            "written; add --resume to continue from the last finished stage)",
            file=sys.stderr,
        )
        return 143 if isinstance(exc, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
