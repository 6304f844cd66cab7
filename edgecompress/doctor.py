"""``edgecompress doctor``: what this machine has, and what each target still needs here."""

from __future__ import annotations

from typing import Any

from edgecompress.measure.environment import cpu_model, gpu_info, isa_flags, jetson_release, package_versions


def openvino_devices() -> list[str]:
    """Devices OpenVINO can compile for here."""
    try:
        import openvino as ov
    except ImportError:
        return []
    return list(ov.Core().available_devices)


def target_states() -> dict[str, dict[str, Any]]:
    """Per built-in target: its backend, whether it runs here, and if not why and what to do."""
    from edgecompress.backends import get_backend
    from edgecompress.config import load_target
    from edgecompress.resources import builtin_names

    targets = {}
    for name in builtin_names("targets"):
        profile = load_target(name)
        backend = get_backend(profile.backend)
        reason = backend.available()
        targets[name] = {
            "backend": profile.backend,
            "precisions": profile.precisions,
            "description": profile.description,
            "usable": reason is None,
            "why_not": reason,
            "install": None if reason is None else backend.install_hint,
            # a backend that builds on the device (TensorRT) compiles anywhere; only its build waits
            "compile_here": reason is None or (profile.build_on_device and backend.builds_on_device),
        }
    return targets


def target_state_line(state: dict[str, Any]) -> str:
    """``usable here``, ``compiles here, ...`` or ``missing: ... -> ...``; doctor and targets print it."""
    if state["usable"]:
        return "usable here"
    if state["compile_here"]:
        return f"compiles here; engine built on the device with `edgecompress lower` ({state['why_not']})"
    return f"missing: {state['why_not']} -> {state['install']}"


def diagnose() -> dict[str, Any]:
    """Everything ``doctor`` prints, as a dictionary."""
    return {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "gpu": gpu_info(),
        "jetson_l4t": jetson_release(),
        "openvino_devices": openvino_devices(),
        "versions": package_versions(),
        "targets": target_states(),
    }
