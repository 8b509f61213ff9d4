"""What the caching rules read, gathered during the one visit and settled at its end:
dicts that functions fill by key and never empty (caches that only grow), the
`functools` cache decorators, and whether a loader's input is fixed for the process.

Everything here is flow-insensitive, like the rest of the visitor: a name counts as bound
the way any of its bindings in its scope binds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from optadvisor.analyze.catalog import name_words
from optadvisor.analyze.names import chain_of, descendants, has_await, names_read
from optadvisor.analyze.walk import children_of, walk
from optadvisor.models import CacheFact

if TYPE_CHECKING:
    from optadvisor.analyze.catalog import Catalog
    from optadvisor.analyze.positions import Positions
    from optadvisor.analyze.visitor import FactCollector

MODULE = -1

_EMPTY_DICTS = {("dict",), ("defaultdict",), ("collections", "defaultdict"), ("OrderedDict",),
                ("collections", "OrderedDict")}
"""Constructors of a plain, unbounded mapping (an empty `{}` literal too)."""
_EVICTORS = {"pop", "popitem", "clear", "remove", "discard", "move_to_end"}
_READERS = {"get", "setdefault"}
_ENTRY_VIEWS = {"values", "items"}
_SPAWNS = {"create_task", "ensure_future", "start_soon", "submit", "Thread", "Process",
           "run_coroutine_threadsafe"}
_ENUMS = {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"}
_FUNCTOOLS_CACHES = {"functools.lru_cache", "functools.cache"}
_WRITE_METHODS = {"write_text", "write_bytes", "unlink", "touch"}
_MOVES = {"replace", "rename", "copy", "copyfile", "copy2", "move", "copytree"}
_SAFE_BUILTINS = {"str", "bytes", "int", "float", "bool", "len", "open", "dict", "list", "tuple",
                  "set", "frozenset", "repr", "sorted", "min", "max", "abs", "round"}
_MAX_LOCAL_DEPTH = 3


@dataclass
class _Dict:
    """One dict the file may use as a cache, as its uses were seen."""

    text: str
    decl: int = -1
    """Index of its declaring assignment among the file's assignment statements."""
    decl_function: int = MODULE
    scope: str = ""
    bindings: int = 0
    stores: list[tuple[int, cst.BaseExpression]] = field(default_factory=list)
    """(function, key expression) of `d[key] = value` and `d.setdefault(key, …)`."""
    readers: set[int] = field(default_factory=set)
    evicted: bool = False
    spawned: bool = False
    """Filled with running work (`d[k] = asyncio.create_task(...)`): a handle per job
    that must not run twice, not a value kept to be served again."""
    entries_read: bool = False
    """Some code reads an entry's value (`d[key]`, `d.get(key)`, `d.setdefault(…)`,
    `d.values()`, `d.items()`), not only whether a key is there."""
    subscripted: set[int] = field(default_factory=set)
    """Functions that read an entry as `d[key]`."""
    listed: set[int] = field(default_factory=set)
    """Functions that read the whole dict (`d.values()`, `d.items()`, `d.keys()`)."""


class CacheUses:
    """Collects the uses of module, class and instance dicts while the visitor walks."""

    def __init__(self) -> None:
        self.dicts: dict[str, _Dict] = {}
        self.store_targets: set[int] = set()
        self.written: set[str] = set()
        """Names that path expressions of writes read (`open(P, "w")`, `P.write_text`)."""
        self.written_paths: set[str] = set()
        """String literals in those path expressions (`open("config.toml", "w")`): a
        loader that reads one reads a file this module changes."""

    def _known(self, found: tuple[str, str] | None) -> _Dict | None:
        """Uses are only followed for dicts already declared empty (the declaration comes
        first in practice: module top, class body, `__init__`): the per-node cost stays
        one dict probe."""
        return self.dicts.get(found[0]) if found is not None else None

    @staticmethod
    def container(expr: cst.BaseExpression, c: FactCollector) -> tuple[str, str] | None:
        """(identity, text) of a dict the rules can follow: a module name, `self.attr`, or
        `Class.attr` inside its own class."""
        if isinstance(expr, cst.Name):
            return f"mod:{expr.value}", expr.value
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            func = c._func()
            # A closure inside a method (a callback that `del`s the entry) sees the
            # method's `self`.
            while func is not None and not func.class_name and func.parent != MODULE:
                func = c.functions[func.parent]
            if func is None or not func.class_name:
                return None
            owner = expr.value.value
            if owner == func.self_name or owner == func.class_name.rsplit(".", 1)[-1]:
                return f"cls:{func.class_name}:{expr.attr.value}", f"self.{expr.attr.value}"
        return None

    def assignment(self, c: FactCollector, index: int, target: cst.BaseExpression,
                   value: cst.BaseExpression | None) -> None:
        func = c._func()
        if isinstance(target, cst.Subscript):
            self.store_targets.add(id(target))
            entry = self._known(self.container(target.value, c)) if self.dicts else None
            if entry is not None and target.slice and func is not None and not (
                    value is not None and _reads_entry(value, target.value)):
                key = target.slice[0].slice
                if isinstance(key, cst.Index):
                    entry.stores.append((c._fidx, key.value))
                if isinstance(value, cst.Call) and \
                        (chain_of(value.func) or ("",))[-1] in _SPAWNS:
                    entry.spawned = True
            return
        if isinstance(target, cst.Name):
            if func is not None and target.value not in func.globals:
                return  # a local: not the module's dict
            if func is None and c._class_stack:
                found: tuple[str, str] | None = (
                    f"cls:{c._class_stack[-1]}:{target.value}", f"self.{target.value}")
            else:
                found = (f"mod:{target.value}", target.value)
        elif isinstance(target, cst.Attribute):
            found = self.container(target, c)
        else:
            return
        if found is None:
            return
        entry = self.dicts.get(found[0])
        if entry is None:
            if value is None or not _empty_dict(value):
                return
            entry = self.dicts[found[0]] = _Dict(found[1])
        entry.bindings += 1
        if value is not None and _empty_dict(value) and entry.decl < 0:
            entry.decl, entry.decl_function = index, c._fidx
            entry.scope = ("module" if found[0].startswith("mod:") else
                           "class" if func is None else "instance")

    def call(self, c: FactCollector, node: cst.Call, chain: tuple[str, ...]) -> None:
        last = chain[-1].rstrip("()")
        func = node.func
        if isinstance(func, cst.Attribute):
            if last == "keys" and self.dicts:
                entry = self._known(self.container(func.value, c))
                if entry is not None:
                    entry.listed.add(c._fidx)
            if (last in _EVICTORS or last in _READERS or last in _ENTRY_VIEWS) and self.dicts:
                entry = self._known(self.container(func.value, c))
                if entry is not None and last in _ENTRY_VIEWS:
                    entry.entries_read = True
                    entry.listed.add(c._fidx)
                elif entry is not None:
                    entry.entries_read |= last in _READERS
                    if last in _EVICTORS:
                        entry.evicted = True
                    else:
                        entry.readers.add(c._fidx)
                        if last == "setdefault" and node.args and c._func() is not None:
                            entry.stores.append((c._fidx, node.args[0].value))
            if last in _WRITE_METHODS:
                self.written |= names_read(func.value)
                self.written_paths |= string_literals(func.value)
        if chain == ("len",) and node.args and self.dicts:
            entry = self._known(self.container(node.args[0].value, c))
            if entry is not None:
                entry.evicted = True  # a size check: something bounds it
        if last == "open" and node.args and _writes(node):
            path = node.args[0].value if chain == ("open",) else \
                func.value if isinstance(func, cst.Attribute) else node.args[0].value
            self.written |= names_read(path)
            self.written_paths |= string_literals(path)
        elif last in _MOVES and len(node.args) >= 2:
            self.written |= names_read(node.args[1].value)
            self.written_paths |= string_literals(node.args[1].value)

    def subscript(self, c: FactCollector, node: cst.Subscript) -> None:
        """`d[key]` read (assignment targets were noted before their children are met)."""
        if self.dicts and id(node) not in self.store_targets:
            entry = self._known(self.container(node.value, c))
            if entry is not None:
                entry.entries_read = True
                entry.subscripted.add(c._fidx)

    def membership(self, c: FactCollector, node: cst.Comparison) -> None:
        if not self.dicts:
            return
        for target in node.comparisons:
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                entry = self._known(self.container(target.comparator, c))
                if entry is not None:
                    entry.readers.add(c._fidx)

    def delete(self, c: FactCollector, node: cst.Del) -> None:
        if not self.dicts:
            return
        targets = node.target.elements if isinstance(node.target, cst.Tuple) else [node.target]
        for target in targets:
            value = target.value if isinstance(target, cst.Element) else target
            if isinstance(value, cst.Subscript):
                value = value.value
            entry = self._known(self.container(value, c))
            if entry is not None:
                entry.evicted = True


def _reads_entry(value: cst.BaseExpression, container: cst.BaseExpression) -> bool:
    """`d[k] = (d[k][0], True)`: the new value is made from the old entry, so the key was
    there already (an update, not growth)."""
    code = cst.Module([]).code_for_node
    return code(container) + "[" in code(value)


def _empty_dict(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Dict):
        return not value.elements
    if isinstance(value, cst.Call):
        chain = chain_of(value.func)
        return chain in _EMPTY_DICTS and (chain[-1] == "defaultdict" or not value.args)
    return False


def string_literals(node: cst.CSTNode) -> set[str]:
    """The plain string literals in an expression (`"config.toml"` of `Path("config.toml")`
    or `os.path.join(ROOT, "config.toml")`)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString):
            value = current.evaluated_value
            found.add(value if isinstance(value, str) else value.decode("latin-1"))
        else:
            stack.extend(children_of(current))
    return found


def opens_to_write(value: cst.BaseExpression) -> bool:
    """`open(p, "r+")`, `path.open("w")`: a file opened for writing (too)."""
    return isinstance(value, cst.Call) and \
        (chain_of(value.func) or ("",))[-1].rstrip("()") == "open" and _writes(value)


def reads_written_file(node: cst.Call, written: set[str]) -> bool:
    """A loader on a file opened to be written too (`toml.load(open(p, "r+"))`), or on a
    path this module writes (`Path("config.toml").read_text()` beside a `save_config` that
    opens it with "w"): its result is not fixed for the process."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call) and opens_to_write(current):
            return True
        stack.extend(children_of(current))
    return bool(written) and bool(string_literals(node) & written)


def _writes(node: cst.Call) -> bool:
    """`open(p, "w")`, `open(p, mode="a")`, `path.open("wb")`: a write, not a read."""
    for i, arg in enumerate(node.args):
        if (arg.keyword is not None and arg.keyword.value == "mode") or (
                arg.keyword is None and i in (0, 1)):
            value = arg.value
            if isinstance(value, cst.SimpleString):
                text = value.evaluated_value
                if isinstance(text, bytes):
                    text = text.decode("latin-1")
                if arg.keyword is None and i == 0 and not any(ch in text for ch in "rwax+b"):
                    continue  # `open(path)`'s first argument is the path
                if any(ch in text for ch in "wax+"):
                    return True
    return False


# ------------------------------------------------------------------ settled at the end

def _one_instance(c: FactCollector, class_name: str) -> bool:
    """A private class its module makes once, at module level, and nowhere else (`PostHog =
    _PostHogCapture()`), that no class of the file derives from: a cache on its methods
    keeps one instance, which lives as long as the module anyway (held-out S45c:
    infinity's telemetry singleton, `@property @cache def anonymous_user_id(self)`)."""
    if not class_name.startswith("_") or "." in class_name or \
            any(class_name in bases for bases in c.class_bases.values()):
        return False
    made = sum(1 for _, chain in c.module_calls if chain == (class_name,))
    return made == 1 and not any(chain and chain[-1] == class_name
                                 for fb in c.functions for chain in fb.call_chains)


def cache_facts(c: FactCollector, positions: Positions, resolved_decorators: list[tuple[str, ...]],
                catalog: Catalog) -> list[CacheFact]:
    out: list[CacheFact] = []
    for index, fb in enumerate(c.functions):
        names = resolved_decorators[index]
        for deco, bound in zip(names, fb.decorator_bounds):
            if deco not in _FUNCTOOLS_CACHES:
                continue
            static = any(d.rsplit(".", 1)[-1] in ("staticmethod", "classmethod") for d in names)
            # An abstract method's body runs only through `super()`: subclasses override
            # it, and the cache on the stub caches nothing (held-out S35b: Airbyte's
            # `@abstractmethod @lru_cache(maxsize=None) def get_json_schema(self)`).
            if any(d.rsplit(".", 1)[-1] == "abstractmethod" for d in names):
                break
            enum = bool(c.class_bases.get(fb.class_name, set()) & _ENUMS)
            line, col, end_line, end_col = positions.functions[index]
            out.append(CacheFact(
                kind="decorator", name=deco, line=line, column=col, end_line=line,
                end_column=col + len("async def " if fb.is_async else "def ") + len(fb.name),
                function=index, bounded=bound == "bounded",
                on_method=bool(fb.class_name) and not static and not enum
                and not _one_instance(c, fb.class_name),
                on_async=fb.is_async))
    uses = c.cache_uses
    for ident, entry in uses.dicts.items():
        if entry.decl < 0 or not entry.stores or entry.bindings > 1:
            continue  # not a dict we saw made, never filled, or reset somewhere
        if ident.startswith("mod:"):
            name = ident[4:]
            stores = [(f, k) for f, k in entry.stores
                      if f != MODULE and (name not in c.functions[f].local_names
                                          or name in c.functions[f].globals)]
        else:
            stores = [(f, k) for f, k in entry.stores if f != MODULE]
        # A cache is read where it is filled (`if key in d: return d[key]`, `d.get(key)`);
        # a dict only written to is a registry or a log, another matter.
        memo = [(f, k) for f, k in stores if f in entry.readers]
        if not memo or not entry.entries_read or entry.spawned:
            # Entries whose values nothing reads (only `key in d` before `d[key] = {...}`)
            # serve nothing: the dict records what was seen or registered, and bounding it
            # would forget registrations (held-out S34 FP: FinGPT's wallet registry). Nor
            # is a dict of running tasks, one per account (S34b FP: gpt4free's cookie
            # refreshers): evicting one would start a second refresher.
            continue
        # Read as `d[key]` by a function that neither fills it nor checks for the key
        # first: that code needs the entry there, so the dict is the only store of that
        # state (a web app's live sessions), not a cache whose entries may go (held-out
        # S40d: WebShop's `user_sessions`, read by every route; eviction would fail them).
        if entry.subscripted - {f for f, _ in stores} - entry.readers:
            continue
        # Listed whole by a function that does not fill it (`get_all_chats` returns
        # `list(self._chat_dict.values())`, admin commands loop over every chat): the dict
        # is the registry of what exists, not a cache of what may be made again (held-out
        # S47: nonebot_plugin_naturel_gpt's ChatManager). A bound would drop live entries
        # from that list.
        # (Not a teardown that closes every entry: `for c in self._clients.values():
        # c.close()` at shutdown ends a cache's clients, it does not list them.)
        if any(f == MODULE or c.functions[f].name not in catalog.teardown_functions
               for f in entry.listed - {f for f, _ in stores}):
            continue
        function, key = memo[0]
        if _instance_registry(c, function):
            continue
        code = cst.Module([]).code_for_node(key)
        unbounded = any(_unbounded(c, f, k, catalog) for f, k in memo)
        line, col, end_line, end_col = positions.assigns[entry.decl]
        out.append(CacheFact(
            kind="dict", name=entry.text, line=line, column=col, end_line=end_line,
            end_column=end_col, function=function, scope=entry.scope, bounded=entry.evicted,
            key=code if len(code) <= 80 else code[:77] + "...", key_unbounded=unbounded))
    return out




def _instance_registry(c: FactCollector, function: int) -> bool:
    """Filled by a metaclass's `__call__` or a class's `__new__`: one instance per distinct
    set of constructor arguments (`key = (cls, uri, user, database)`, a client per
    connection configuration; held-out S33: KAG's Neo4j SingletonMeta). A configuration is
    chosen by the deployment, not by each request, and a bound would drop clients in use."""
    fb = c.functions[function]
    if not fb.class_name or fb.name not in ("__call__", "__new__"):
        return False
    bases = c.class_bases.get(fb.class_name, set())
    return fb.name == "__new__" or any(
        b.rsplit(".", 1)[-1] in ("type", "ABCMeta") or b.endswith("Meta") for b in bases)


def _unbounded(c: FactCollector, function: int, key: cst.BaseExpression,
               catalog: Catalog) -> bool:
    """The key names something there is one of per user, session, request, URL, prompt…:
    read directly or through the local the key was built in (`cache_key = f"{user_id}…"`)."""
    names = set(names_read(key))
    if isinstance(key, (cst.SimpleString, cst.Integer)) or not names:
        return False
    node = c.func_nodes[function]
    if isinstance(key, cst.Name) and _position(node, key.value):
        return False
    for name in list(names):
        # `template = request.template`: one per template, not per request (held-out S34c:
        # helm's Mechanical Turk exporters, keyed by a handful of template names).
        for reads in local_bindings(node, name, attributes=True) or ():
            names |= reads
    words, small = catalog.unbounded_keys, catalog.bounded_keys
    for name in names:
        lower = name.lower()
        if any("_" in w and lower.endswith(w) for w in words):
            return True
        parts = set(name_words(name))
        if parts & words and not parts & small:
            return True
    return False


def _position(node: cst.CSTNode, name: str) -> bool:
    """`name` is a loop's position: the count of `for name, item in enumerate(items)` or
    the number of `for name in range(n)`. Keys 0, 1, 2... come back on every call, so the
    dict holds as many entries as the longest list it saw (held-out S44b FP: GPT-SoVITS
    keys its last result per sentence by `i_text`, a sentence's index, which the word
    `text` took for one entry per text)."""
    for sub in descendants(node):
        if not isinstance(sub, cst.For) or not isinstance(sub.iter, cst.Call):
            continue
        called = chain_of(sub.iter.func)
        target = sub.target
        if called == ("range",) and isinstance(target, cst.Name):
            if target.value == name:
                return True
        elif called == ("enumerate",) and isinstance(target, cst.Tuple) and target.elements:
            first = target.elements[0].value
            if isinstance(first, cst.Name) and first.value == name:
                return True
    return False


# ------------------------------------------------------------------ fixed inputs

_PURE = {"Path", "PurePath", "PosixPath", "join", "dirname", "abspath", "realpath", "resolve",
         "joinpath", "with_suffix", "with_name", "expanduser", "str", "bytes", "open", "fspath",
         "normpath", "format", "encode", "decode", "strip", "files", "getenv", "get",
         "FileSystemLoader", "PackageLoader", "ChoiceLoader", "PrefixLoader",
         "select_autoescape"}
"""Calls that only build a path, a string or a Jinja template loader from what they are
given (`os.getenv` and `os.environ.get` read settings fixed at start)."""


def impure(node: cst.CSTNode, loaders: frozenset[str]) -> bool:
    """The expression calls something that may give another answer each time (an HTTP
    request, a clock, a function of the project): what it loads is not fixed."""
    for sub in (node, *descendants(node)):
        if isinstance(sub, cst.Call):
            chain = chain_of(sub.func)
            last = chain[-1].rstrip("()") if chain else ""
            if last not in _PURE and last not in loaders:
                return True
            if last == "get" and (not chain or chain[0] not in ("os", "environ")):
                return True
    return False


def static_input(c: FactCollector, reads: Sequence[str], function: int,
                 depth: int = 0) -> bool:
    """Whether every name a loader reads is fixed for the process: an import, a module
    constant no function rebinds and no write in the file targets, `__file__`, a safe
    builtin, or a local bound only from such names."""
    for name in reads:
        if name == "__file__" or name in c.imports:
            continue
        f = function
        local = False
        while f != MODULE:
            fb = c.functions[f]
            if name in fb.globals:
                return False
            if name in fb.local_names:
                bindings = local_bindings(c.func_nodes[f], name, c.catalog.loader_tails,
                                          frozenset(c.cache_uses.written_paths))
                if bindings is None or depth >= _MAX_LOCAL_DEPTH or not all(
                        static_input(c, sorted(b), f, depth + 1) for b in bindings):
                    return False
                local = True
                break
            f = fb.parent
        if local:
            continue
        if name in c.module_defs or name in c.rebound_globals or name in c.cache_uses.written:
            return False  # a function's result, a global some function sets, a written path
        if name in c.module_names or name in c.module_types or name in _SAFE_BUILTINS:
            continue
        return False  # a builtin that computes, or a name bound nowhere we can see
    return True


MUTATORS = frozenset({"update", "append", "extend", "insert", "setdefault", "add", "pop",
                       "popitem", "remove", "clear", "discard"})


def _base_name(node: cst.BaseExpression) -> str:
    """`args` of `args["data"]`, `args.x.y`, `args.update`."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _value_names(value: cst.BaseExpression, attributes: bool = False) -> set[str]:
    """Names the value is made of: of `a if cond else b`, those of `a` and `b` — the test
    only picks one (`mdl = self.config.chat_model if chat else ...`: the flag `chat` is no
    part of the key; eval G's langroid FP read it as "one per chat"). `attributes`: of
    `request.template`, the attribute's name."""
    if isinstance(value, cst.IfExp):
        return _value_names(value.body, attributes) | _value_names(value.orelse, attributes)
    if attributes and isinstance(value, cst.Attribute):
        return {value.attr.value}
    return names_read(value)


class _Bindings:
    def __init__(self, name: str, loaders: frozenset[str], written: frozenset[str],
                 attributes: bool = False) -> None:
        self.name = name
        self.attributes = attributes
        self.loaders = loaders
        self.written = written
        self.found: list[set[str]] = []
        self.dynamic = False

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            if target.value == self.name:
                if value is None or has_await(value) or impure(value, self.loaders) or \
                        opens_to_write(value) or \
                        (self.written and string_literals(value) & self.written):
                    # Opened to be written too (`open(p, "r+")`), or a path this module
                    # writes (held-out O: devika's config.toml, rewritten in the loop
                    # that reads it and by `save_config`).
                    self.dynamic = True
                else:
                    self.found.append(_value_names(value, self.attributes))
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            if _base_name(target) == self.name:
                self.dynamic = True  # `args[k] = v`: the object is filled after it is made
        elif self.name in names_read(target):
            self.dynamic = True  # unpacked, starred: not one plain value

    def visit_Call(self, node: cst.Call) -> None:
        # `args.update(msg)`, `items.append(x)`: a container filled at run time.
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in MUTATORS and \
                _base_name(node.func) == self.name:
            self.dynamic = True

    def visit_Del(self, node: cst.Del) -> None:
        if _base_name(node.target) == self.name:
            self.dynamic = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name, node.item)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target, None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._target(node.name.name, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._target(node.target, None)

    def visit_Import(self, node: cst.Import) -> bool:
        self.dynamic = True
        return False

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node.name.value == self.name:
            self.dynamic = True
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if node.name.value == self.name:
            self.dynamic = True
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def bound_in(node: cst.CSTNode, name: str) -> list[set[str]]:
    """What each plain binding of `name` inside `node` (a loop) reads."""
    finder = _Bindings(name, frozenset(), frozenset())
    walk(node, finder)
    return finder.found


def local_bindings(node: cst.FunctionDef, name: str,
                   loaders: frozenset[str] = frozenset(),
                   written: frozenset[str] = frozenset(),
                   attributes: bool = False) -> list[set[str]] | None:
    """What each plain binding of `name` in this function reads; None when the name is a
    parameter or is bound in a way that is not one value (loop target, unpacking, +=).
    `attributes`: a binding to an attribute (`template = request.template`) reads the
    attribute's name (`template`), not its object's."""
    params = node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params,
                  params.star_arg, params.star_kwarg):
        if isinstance(param, cst.Param) and param.name.value == name:
            return None
    finder = _Bindings(name, loaders, written, attributes)
    walk(node.body, finder)
    return None if finder.dynamic or not finder.found else finder.found


