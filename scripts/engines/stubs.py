# Lets an engine's argument parser import on a CPU-only machine: a module of the engine that needs a missing
# GPU-only package (triton, transformer_engine, ...) is replaced by an empty stand-in whose attributes are dummies.
import sys, types, importlib.abc, importlib.machinery, typing
try:
    import typing_extensions
    if not hasattr(typing, 'override'): typing.override = typing_extensions.override
except ImportError:
    pass
PREFIXES = ()
STUBBED = []
class AnyMeta(type):
    def __getattr__(cls, name):
        if name.startswith('__'): raise AttributeError(name)
        return AnyMeta(name, (Anything,), {})
class Anything(metaclass=AnyMeta):
    """Any attribute, any call; used as a decorator it hands the decorated function back."""
    def __init__(self, *args, **kwargs): pass
    def __getattr__(self, name):
        if name.startswith('__'): raise AttributeError(name)
        return AnyMeta(name, (Anything,), {})
    def __call__(self, *args, **kwargs):
        return args[0] if len(args) == 1 and callable(args[0]) and not kwargs else self
class Dummy(types.ModuleType):
    __path__ = []
    def __getattr__(self, name):
        if name.startswith('__'): raise AttributeError(name)
        return AnyMeta(name, (Anything,), {})
class Wrap(importlib.abc.Loader):
    def __init__(self, inner): self.inner = inner
    def create_module(self, spec): return self.inner.create_module(spec)
    def exec_module(self, module):
        try:
            self.inner.exec_module(module)
        except (ModuleNotFoundError, ImportError) as error:
            missing = getattr(error, 'name', None) or str(error)
            if missing and missing.split('.')[0] in (p.split('.')[0] for p in PREFIXES): raise
            STUBBED.append((module.__name__, missing))
            module.__class__ = Dummy
class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if not name.startswith(PREFIXES): return None
        for finder in sys.meta_path:
            if finder is self: continue
            spec = finder.find_spec(name, path, target) if hasattr(finder, 'find_spec') else None
            if spec is not None:
                if spec.loader is not None: spec.loader = Wrap(spec.loader)
                return spec
        return None
def install(*prefixes):
    global PREFIXES
    PREFIXES = tuple(prefixes)
    sys.meta_path.insert(0, Finder())
class Absent(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stands in for whole third-party packages that are not installed (e.g. tyro): every attribute is a dummy."""
    def __init__(self, names): self.names = set(names)
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in self.names: return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec): return Dummy(spec.name)
    def exec_module(self, module): pass
def absent(*names):
    sys.meta_path.insert(0, Absent(names))
