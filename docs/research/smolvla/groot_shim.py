"""Keep lerobot.policies.groot/__init__.py (which imports modeling_groot -> groot_n1,
broken under transformers 5: dataclass 'non-default argument backbone_cfg follows
default argument') from running. We pre-register the *package* with its real __path__,
so submodules like configuration_groot still import for real (GrootConfig stays
registered with draccus), but the package __init__ is never executed.
Import this module BEFORE anything from lerobot.policies."""
import importlib.util, os, sys, types

def install():
    name = "lerobot.policies.groot"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec("lerobot")  # imports only top-level lerobot/__init__
    pkg_dir = os.path.join(os.path.dirname(spec.origin), "policies", "groot")
    m = types.ModuleType(name)
    m.__path__ = [pkg_dir]
    m.__package__ = name
    m.__file__ = os.path.join(pkg_dir, "__init__.py")
    sys.modules[name] = m

install()
