"""The project-wide view: which function a call reaches, across files, so facts can travel
along calls. An `async def` that calls a sync helper which (maybe through other helpers, in
other files) calls `requests.get` blocks the event loop just the same.

Names come from the per-file facts: `helper`, `Class.method` (via `self.method()`),
`.utils.fetch` (relative import), `pkg.utils.fetch` (absolute import). Modules are named by
their path under the directory the scan was given (SourceFile.module_root); an absolute
import that carries a longer package prefix (that directory sits inside the package) is
matched by its tail. With several directories given, a file's imports are looked up in its
own first, exactly as when it is scanned alone; only what that leaves unresolved is looked
up in the others, by the modules' full names (a package's own name included): a link
between two trees is made only when the import really names the other tree's module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

from optadvisor.analyze.catalog import (
    Catalog,
    bulk_call,
    client_call,
    flask_view,
    is_context_manager,
    is_request,
    is_route,
    quick_call,
)
from optadvisor.context import DEMOTED, context_of
from optadvisor.models import (
    SUPER_MARK as SUPER, CallFact, FileFacts, FunctionFact, Hop, SourceFile, Via,
)
from optadvisor.packages import package_of as _package_of
from optadvisor.packages import package_prefixes  # noqa: F401 (the warm path's, re-exported)
from optadvisor.packages import under as _under

MAX_DEPTH = 8
"""Helpers deeper than this are not followed: the chain would be too long to act on."""

FunctionKey = tuple[str, int]
"""(file rel path, function index)."""


def module_name(rel_path: str) -> str:
    """`pkg/sub/mod.py` -> `pkg.sub.mod`; `pkg/__init__.py` -> `pkg`. (Here rather than in
    analyze/names.py: that module imports libcst, which a warm scan must not pay for.)"""
    parts = rel_path.removesuffix(".py").removesuffix(".pyi").split("/")
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class Wrapped:
    """A project class whose `__init__` builds a client: making one builds the client."""

    kind: str
    """The client's kind (http, llm, cloud, db, ...)."""
    built: str
    """How: `S3Helper.__init__ → S3Helper.__get_s3_client → boto3.client`."""


class ProjectIndex:
    def __init__(self, files: Iterable[tuple[SourceFile, FileFacts]]) -> None:
        self.facts: dict[str, FileFacts] = {}
        self.module_of: dict[str, str] = {}
        self.root_of: dict[str, str] = {}
        self.modules: dict[str, dict[str, str]] = {}
        """Directory given to the scan (module_root) -> module name -> file."""
        self.import_names: dict[str, dict[str, str]] = {}
        self._ancestor_memo: dict[tuple[str, str], FunctionKey | None] = {}
        self._returning: set[str] | None = None
        """Last names of project functions with a return annotation (_through_return)."""
        self._import_alts: dict[str, dict[str, list[str]]] = {}
        """Import names several files share (`services/db.py` in two apps of a monorepo,
        each its own top package): all of them, for the importing file to pick the
        nearest."""
        """The same, by the name a file is imported as when its top package sits below the
        scanned directory (src layouts, monorepo subprojects): tried after `modules`."""
        self.functions: dict[str, dict[str, int]] = {}
        self._sources: dict[str, SourceFile] = {}
        self._full: tuple[dict[str, str], dict[str, str]] | None = None
        self._tree_names: dict[str, frozenset[str]] = {}
        """Given directory -> the full names of its modules (see _full_names)."""
        self._bases: dict[str, dict[str, tuple[str, ...]]] = {}
        self._bindings: dict[str, dict[str, str]] = {}
        self._inherited: dict[tuple[str, str], FunctionKey | None] = {}
        self._by_name: dict[str, list[FunctionKey]] | None = None
        files = list(files)
        self._path_parts = {part.removesuffix(".py") for source, _ in files
                            for part in source.rel.split("/")}
        """Every directory and module name of the project (`_from_ancestors`: a name no
        file or directory has is a library's)."""
        # Directories holding an `__init__.py`: a file inside one is imported by the name
        # from its top package down (`src/khoj/utils.py` is `khoj.utils`, a src layout),
        # whatever directories sit above that package under the scanned root.
        packages = {rel.rsplit("/", 1)[0] for rel in (s.rel for s, _ in files)
                    if rel.endswith("/__init__.py")}
        for source, facts in files:
            rel = source.rel
            root = source.module_root
            mod = module_name(_under(rel, root))
            self.facts[rel] = facts
            self.module_of[rel] = mod
            self.root_of[rel] = root
            self._sources[rel] = source
            table_of_root = self.modules.setdefault(root, {})
            table_of_root.setdefault(mod, rel)
            imported = _import_name(_under(rel, root), _under_all(packages, root))
            if imported and imported != mod:
                first = self.import_names.setdefault(root, {}).setdefault(imported, rel)
                if first != rel:
                    self._import_alts.setdefault(root, {}).setdefault(
                        imported, [first]).append(rel)
            table = self.functions.setdefault(rel, {})
            for index, fn in enumerate(facts.functions):
                if "<locals>" not in fn.qualname:
                    table.setdefault(fn.qualname, index)

    def resolve(self, rel: str, name: str, depth: int = 0) -> FunctionKey | None:
        """The project function a resolved call name in file `rel` refers to, if any: also
        a method a class inherits from a project base class (`self._call_client` defined on
        the base), and a name a package re-exports (`from camel.models import Base`, where
        `camel/models/__init__.py` imports it from `.base_model`)."""
        if name.startswith(SUPER):
            # `super().m()` in a method of class C (`super:C.m`): C's bases, in order.
            key = (rel, name)
            if key not in self._inherited:
                self._inherited[key] = None
                self._inherited[key] = self._from_bases(rel, name[len(SUPER):], depth) \
                    if depth < INHERIT_DEPTH else None
            return self._inherited[key]
        found = self._resolve(rel, name, depth)
        if found is None and depth < INHERIT_DEPTH and "." in name and not name.startswith("?"):
            key = (rel, name)
            if key not in self._inherited:
                self._inherited[key] = None  # a cycle of bases finds nothing new
                self._inherited[key] = self._from_bases(rel, name, depth) or (
                    self._through_return(rel, name, depth) if depth == 0 else None)
            found = self._inherited[key]
        return found

    def _through_return(self, rel: str, name: str, depth: int) -> FunctionKey | None:
        """`Resource.build_api().job`: the method of what a project function called on the
        way returns, by its return annotation (`def build_api(self) -> BaseAPI`, in a mixin
        of another file), resolved where that function is (held-out S43: mage-ai's Spark
        resources await `self.build_api().job(...)` per job id)."""
        if self._returning is None:  # last names of the project functions annotated so
            self._returning = {fn.name for facts in self.facts.values()
                               for fn in facts.functions if fn.returns}
        parts = name.replace("()", "").split(".")
        for cut in range(len(parts) - 1, 1, -1):  # the longest head first; a head is `A.m`
            if parts[cut - 1] not in self._returning:
                continue  # no project function of that name says what it returns
            made = self.resolve(rel, ".".join(parts[:cut]), depth + 1)
            if made is None:
                continue
            returns = self.facts[made[0]].functions[made[1]].returns
            if not returns or returns.startswith("?"):
                return None
            return self.resolve(made[0], ".".join([returns, *parts[cut:]]), depth + 1)
        return None

    def of_project(self, rel: str, name: str) -> bool:
        """`name` starts at something of the project or of unknown type, not at a library
        module (`subprocess.run`, `asyncio.run`): a local of unknown type (`?.`), a project
        module or directory, or a class of the file `rel` (`Bridge.bot.reply`)."""
        head = name.split(".", 1)[0]
        if head == "?" or head in self._path_parts:
            return True
        return any(q.startswith(head + ".") for q in self.functions.get(rel, ()))

    def named(self, name: str) -> list[FunctionKey]:
        """Every project function (not a nested one) of this name, built on first use."""
        if self._by_name is None:
            self._by_name = {}
            for rel, table in self.functions.items():
                for qualname, i in table.items():
                    self._by_name.setdefault(qualname.rsplit(".", 1)[-1], []).append((rel, i))
        return self._by_name.get(name, [])

    def overridden(self, key: FunctionKey) -> list[FunctionKey]:
        """The project methods a method overrides (`UVEnvironment.prepare` over
        `Environment.prepare`): a call the project resolves to one of them
        (`await self.environment.prepare()`, typed as the base) may run this one, so its
        callers are this method's callers too (held-out M: fastmcp's uv environment,
        prepared only by set-up code through its base class)."""
        rel, index = key
        fn = self.facts[rel].functions[index]
        cls, _, method = fn.qualname.rpartition(".")
        if not cls or "<locals>" in fn.qualname or method.startswith("__"):
            return []
        found = []
        for base in self._class_bases(rel).get(cls, ()):
            if base and not base.startswith("?"):
                target = self.resolve(rel, f"{base}.{method}")
                if target is not None and target != key:
                    found.append(target)
        return found

    def _class_bases(self, rel: str) -> dict[str, tuple[str, ...]]:
        """A file's classes and their bases, as the file resolved them."""
        table = self._bases.get(rel)
        if table is None:
            table = self._bases[rel] = dict(self.facts[rel].class_bases)
        return table

    def _from_bases(self, rel: str, name: str, depth: int) -> FunctionKey | None:
        """`Cls.method` where `Cls` is a class of `rel` that does not define `method`: the
        first of its bases (in order) that the project resolves it in."""
        cls, _, method = name.rpartition(".")
        for base in self._class_bases(rel).get(cls, ()):
            if base and not base.startswith("?"):
                found = self.resolve(rel, f"{base}.{method}", depth + 1)
                if found is not None:
                    return found
        return None

    def _reexported(self, target: str, qualname: str, depth: int) -> FunctionKey | None:
        """`Base._call` asked of a module that does not define `Base` but imports it (a
        package's `__init__.py`): looked up where the import points."""
        if depth >= INHERIT_DEPTH:
            return None
        table = self._bindings.get(target)
        if table is None:
            table = self._bindings[target] = dict(self.facts[target].bindings)
        head, _, rest = qualname.partition(".")
        imported = table.get(head)
        if not imported:
            return None
        return self.resolve(target, f"{imported}.{rest}" if rest else imported, depth + 1)

    def bound_name(self, rel: str, name: str, depth: int = 0) -> str | None:
        """A call on an instance another project module made at module level and this one
        imports (`from agents.team import coordinator` ... `coordinator.run(p)`), named by
        the instance's class as that module resolved it (`agno.team.team.Team.run`), when
        the class is no project code: the catalog's name for the call. None otherwise."""
        if not name or name[0] in ".?" or depth >= INHERIT_DEPTH:
            return None
        parts = name.split(".")
        table = self.modules[self.root_of[rel]]
        for cut in range(len(parts) - 2, 0, -1):
            for start in range(cut):
                target = table.get(".".join(parts[start:cut]))
                if target is None:
                    continue
                bindings = self._bindings.get(target)
                if bindings is None:
                    bindings = self._bindings[target] = dict(self.facts[target].bindings)
                bound = bindings.get(parts[cut])
                if not bound:
                    return None
                full = ".".join((bound, *parts[cut + 1:]))
                if self._resolve(target, full, depth) is not None:
                    return None  # project code: the link's own chains follow it
                return self.bound_name(target, full, depth + 1) or full
        return None

    def _resolve(self, rel: str, name: str, depth: int) -> FunctionKey | None:
        if not name or name.startswith("?"):
            return None
        # `Step(...)` runs `Step.__init__`: a class is resolved to its constructor.
        local = self.functions[rel].get(name)
        if local is None:
            local = self.functions[rel].get(name + ".__init__")
        if local is not None:
            return rel, local
        own = self.root_of[rel]
        absolute = self._absolute(rel, name, self.module_of[rel]) if name[0] == "." else name
        found = self._lookup(self.modules[own], absolute.split("."), tails=True, depth=depth)
        if found is None and name[0] != "." and \
                absolute.split(".", 1)[0] not in self.modules[own]:
            # (A name the scanned directory has at its top is that module's, found above.)
            found = self._from_ancestors(rel, absolute.split("."), depth)
        if found is None and own in self.import_names:
            table = self.import_names[own]
            alts = self._import_alts.get(own)
            if alts:
                table = _Nearest(rel, table, alts)
            found = self._lookup(table, absolute.split("."), tails=False,
                                 depth=depth)
        if found is not None or len(self.modules) == 1:
            return found
        modules, full_name = self._full_names()
        if name[0] == ".":
            # `from ..common import f` reaches another tree only through the package both
            # sit in: resolved from the file's full module name.
            absolute = self._absolute(rel, name, full_name[rel])
        return self._lookup(modules, absolute.split("."), tails=False,
                            own=self._tree_names[own], depth=depth)

    def _from_ancestors(self, rel: str, parts: list[str], depth: int) -> FunctionKey | None:
        """`from services.db_service import sources_db` in `apps/beifong/services/x.py`,
        where `apps/beifong/services/db_service.py` exists: an absolute import resolved
        against a directory above the importing file, the nearest first — the app's root,
        run as the working directory (held-out X: awesome-llm-apps, dozens of apps in one
        repository, each importing its own `services`, `agents`, `utils`)."""
        if parts[0] not in self._path_parts:
            return None  # no directory or file of the project is named so: a library
        dirs = rel.split("/")[:-1]
        for k in range(len(dirs), -1, -1):
            base = "/".join(dirs[:k])
            key = (base, ".".join(parts))
            if key in self._ancestor_memo:
                found = self._ancestor_memo[key]
                if found is not None:
                    return found
                continue
            found = None
            for cut in range(len(parts) - 1, 0, -1):
                path = "/".join(parts[:cut])
                target = next((c for c in (f"{base}/{path}.py" if base else f"{path}.py",
                                           f"{base}/{path}/__init__.py" if base
                                           else f"{path}/__init__.py") if c in self.facts),
                              None)
                if target is None:
                    continue
                qualname = ".".join(parts[cut:])
                table = self.functions[target]
                index = table.get(qualname)
                if index is None:
                    index = table.get(qualname + ".__init__")
                found = (target, index) if index is not None else \
                    self._reexported(target, qualname, depth)
                break
            self._ancestor_memo[key] = found
            if found is not None:
                return found
        return None

    def _lookup(self, modules: Mapping[str, str] | _Nearest, parts: list[str], tails: bool,
                own: frozenset[str] = frozenset(), depth: int = 0) -> FunctionKey | None:
        for cut in range(len(parts) - 1, 0, -1):
            qualname = ".".join(parts[cut:])
            # The import may carry a package prefix the scanned directory does not: within
            # a file's own tree its tails are tried too.
            for start in range(cut if tails else 1):
                module = ".".join(parts[start:cut])
                if module in own:
                    break  # the file's own tree has this module (without the function)
                target = modules.get(module)
                if target is not None:
                    table = self.functions[target]
                    index = table.get(qualname)
                    if index is None:
                        index = table.get(qualname + ".__init__")
                    if index is not None:
                        return target, index
                    found = self._reexported(target, qualname, depth)
                    if found is not None:
                        return found
                    break
        return None

    def _full_names(self) -> tuple[dict[str, str], dict[str, str]]:
        """Every module by full name (-> file), and every file's full module name: its name
        in its tree, prefixed with the package the tree's directory itself is (it and its
        parents holding an `__init__.py`), so `pkg_a/` given alone still answers another
        tree's import of `pkg_a.helpers`. A name the importing file's own tree has is its
        own module (looked up first), never another tree's."""
        if self._full is None:
            prefixes = {root: _package_of(self._sources[next(iter(names.values()))], root)
                        for root, names in self.modules.items()}
            modules: dict[str, str] = {}
            files: dict[str, str] = {}
            trees: dict[str, set[str]] = {}
            for rel, root in self.root_of.items():
                full = ".".join(p for p in (prefixes[root], self.module_of[rel]) if p)
                modules.setdefault(full, rel)
                files[rel] = full
                trees.setdefault(root, set()).add(full)
            self._full = (modules, files)
            self._tree_names = {root: frozenset(names) for root, names in trees.items()}
        return self._full

    @staticmethod
    def _absolute(rel: str, name: str, module: str) -> str:
        """A relative import `name` in file `rel`, whose module is `module`, made absolute."""
        level = len(name) - len(name.lstrip("."))
        rest = name[level:]
        base = module.split(".") if module else []
        if not rel.endswith("__init__.py") and base:
            base = base[:-1]
        if level > 1:
            base = base[: max(0, len(base) - (level - 1))]
        return ".".join([*base, rest]) if rest else ".".join(base)


class _Nearest:
    """An import-name table where a name several files share (`services/db_service.py` in
    two apps of a monorepo, each its own top package) names the one whose directory shares
    the longest prefix with the importing file's (held-out X: awesome-llm-apps holds dozens
    of apps; the first `services.db_service` found answered for all of them). Ties: the
    first found."""

    __slots__ = ("here", "table", "alts")

    def __init__(self, rel: str, table: dict[str, str], alts: dict[str, list[str]]) -> None:
        self.here = rel.split("/")[:-1]
        self.table = table
        self.alts = alts

    def get(self, key: str, default: str | None = None) -> str | None:
        found = self.alts.get(key)
        if found is None:
            return self.table.get(key, default)
        return max(found, key=self._shared)

    def _shared(self, other: str) -> int:
        n = 0
        for a, b in zip(self.here, other.split("/")[:-1]):
            if a != b:
                break
            n += 1
        return n


def _under_all(dirs: set[str], root: str) -> set[str]:
    return {_under(d, root) for d in dirs} if root else dirs


def _import_name(rel: str, packages: set[str]) -> str:
    """`cli/python/src/mem0_cli/commands/add.py` -> `mem0_cli.commands.add` when
    `mem0_cli/` and `commands/` hold an `__init__.py` and `src/` does not; "" for a file
    outside any package (a bare `utils` would match imports it does not serve)."""
    parts = rel.removesuffix(".py").removesuffix(".pyi").split("/")
    top = len(parts) - 1  # parts[:top] is the file's directory
    while top > 0 and "/".join(parts[:top]) in packages:
        top -= 1
    if top == len(parts) - 1:
        return ""
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts[top:])


class BlockingLinker:
    """Finds, for calls inside async defs, the sync helpers that end in blocking work."""

    def __init__(self, index: ProjectIndex, catalog: Catalog) -> None:
        self.index = index
        self.catalog = catalog
        self._scaled_memo: dict[FunctionKey, tuple[Hop, ...] | None] = {}
        self._scaled_own: dict[str, dict[int, CallFact]] = {}
        self._memo: dict[FunctionKey, tuple[Hop, ...] | None] = {}
        self._consumed: dict[FunctionKey, tuple[Hop, ...] | None] = {}
        self._category: dict[FunctionKey, tuple[str, str, bool, bool]] = {}
        self._quick: dict[FunctionKey, bool] = {}
        """Of a helper with a chain: whether the blocking call it ends in is quick (Via)."""
        """A chain's end: (blocking category, replacement, conditional, own session: see
        Via.own_session)."""
        self._direct: dict[str, dict[int, CallFact]] = {}
        self._prompts: dict[str, set[int]] = {}
        """Per file, the functions that read the terminal (`input()`, a console prompt)."""
        self._loop_users: dict[tuple[FunctionKey, int], bool] = {}
        """Functions that need their thread's event loop, themselves or below (_needs_loop)."""

    def _direct_blocking(self, rel: str, function: int) -> CallFact | None:
        table = self._direct.get(rel)
        if table is None:
            table = {}
            for call in self.index.facts[rel].calls:
                # A brief sleep (`time.sleep(0.001)` in a constructor, to keep timestamps
                # apart) holds the loop for a millisecond: reporting it at every async
                # caller of the helper would bury the call sites that matter. A wait on a
                # receiver just probed (`while not q.empty(): q.get()`) returns at once
                # (held-out S43: mage-ai's graph walk over a local Queue).
                if call.blocking and not call.offloaded and call.function >= 0 \
                        and not call.brief and not call.ready:
                    # A call every path reaches is the better evidence, and a wait on the
                    # network or a sleep better than a file check beside it (a lock file
                    # polled with `while os.path.exists(p): time.sleep(0.1)`).
                    # Of file work, a walk or an archive says more than a stat beside it.
                    known = table.get(call.function)
                    if known is None or (known.conditional and not call.conditional) or (
                            known.blocking == "file" and known.conditional >= call.conditional
                            and (call.blocking != "file" or
                                 self._file_weight(call) > self._file_weight(known))):
                        table[call.function] = call
            self._direct[rel] = table
        return table.get(function)

    def _file_weight(self, call: CallFact) -> int:
        """2 for a bulk call (a walk, a tree copy, an array file), 0 for a stat, else 1."""
        if bulk_call(self.catalog, call.name):
            return 2
        return 0 if quick_call(self.catalog, call.name) else 1

    def via_for_file(self, rel: str, offloaded: frozenset[int] = frozenset(),
                     on_loop: frozenset[int] = frozenset()) -> dict[int, Via]:
        """Call index (in FileFacts.calls) -> how it blocks, for this file's async defs and
        the handler methods a framework runs on its loop (`on_loop`), not the calls
        `offloaded` names (offloaded_for_file)."""
        facts = self.index.facts[rel]
        out: dict[int, Via] = {}
        for i, call in enumerate(facts.calls):
            if call.blocking or call.awaited or call.offloaded or call.function < 0 or \
                    i in offloaded:
                continue
            if not facts.functions[call.function].is_async and call.function not in on_loop:
                continue
            target = self.index.resolve(rel, call.name)
            if target is None:
                imported = self._imported_blocking(rel, call)
                if imported is not None:
                    out[i] = imported
                continue
            if call.passed and self._runs_passed(target, call):
                helper = self.index.facts[target[0]].functions[target[1]]
                out[i] = Via(chain=(Hop(helper.qualname, target[0], helper.line),
                                    Hop(call.passed, rel, call.line)),
                             category=call.passed_blocking, replacement=call.replacement)
                continue
            helper = self.index.facts[target[0]].functions[target[1]]
            # A @contextmanager generator entered by `with` runs its body up to `yield`
            # on entry (and the rest on exit): as driven as a generator a loop pulls.
            generator = helper.yields and not helper.is_async
            entered = generator and call.in_with and is_context_manager(helper.decorators)
            consumed = generator and call.iterated
            chain = self._blocks(target, 0, set(), consumed=consumed or entered)
            if chain and helper.exit_flag and helper.exit_flag in call.flags.split() and \
                    not self._before_exit(target, helper, chain):
                # `is_valid_url(url, check_reachability=False)`: the helper returns before
                # the work the chain found (held-out S32c: notte's page loads).
                chain = None
            if chain:
                category, replacement, conditional, own_session = self._category[target]
                # The path to the work that grows with the data, when the first path found
                # is to a small read (held-out S30: Agent-E's agent set-up was said to read
                # per item through a preferences file it reads once; the per-item listing
                # was elsewhere in the same constructor).
                scaled = self._scaled(target, 0, set()) if category == "file" else None
                chain = scaled or chain
                out[i] = Via(chain=chain, category=category, replacement=replacement,
                             conditional=conditional, bridge=self._bridges(target),
                             twin=self._twin(chain, (rel, call.function)),
                             consumed=consumed, entered=entered,
                             loop_bound=self._loop_bound(chain),
                             interactive=self._interactive(chain),
                             scaled=scaled is not None,
                             quick=self._quick[target] if scaled is None else False,
                             own_session=own_session, rewrites=self._rewrites(chain))
        return out

    def _rewrites(self, chain: tuple[Hop, ...]) -> bool:
        """A helper of the chain reads and writes back one file (FunctionFact.rewrites)."""
        return any(fn is not None and fn.rewrites
                   for fn in map(self._function_of, chain[:-1]))

    def _before_exit(self, key: FunctionKey, helper: FunctionFact,
                     chain: tuple[Hop, ...]) -> bool:
        """The chain's next step is a call the helper makes before its flag's early exit
        (FunctionFact.pre_exit_callees): the blocking API itself, or a project function."""
        step = chain[1]
        for name in helper.pre_exit_callees:
            if name == step.name:
                return True
            target = self.index.resolve(key[0], name)
            if target is not None:
                fn = self.index.facts[target[0]].functions[target[1]]
                if fn.qualname == step.name and target[0] == step.path:
                    return True
        return False

    def _imported_blocking(self, rel: str, call: CallFact) -> Via | None:
        """`coordinator.run(prompt)` where `coordinator = Team(...)` sits at module level
        of another project file: the call the catalog knows as `agno.team.team.Team.run`
        (held-out X: awesome-llm-apps' speech trainer route runs an agno team that way)."""
        bound = self.index.bound_name(rel, call.name)
        if bound is None:
            return None
        entry = self.catalog.blocking.get(bound)
        if entry is None or self.catalog.sends_nothing(bound) or \
                entry.category == "file":
            return None
        return Via(chain=(Hop(call.name, rel, call.line), Hop(bound, rel, call.line)),
                   category=entry.category, replacement=entry.instead)

    def _scaled(self, key: FunctionKey, depth: int, visiting: set[FunctionKey]
                ) -> tuple[Hop, ...] | None:
        """The chain to the sync helper's file work that grows with the data (Via.scaled),
        or None: a bulk call of its own (a walk, a tree copy, an array file), file work in
        one of its loops (not a stat: microseconds each), a helper it calls per item that
        reaches file work, or a helper it calls that is scaled itself (MAX_DEPTH deep)."""
        if key in self._scaled_memo:
            return self._scaled_memo[key]
        if depth > MAX_DEPTH or key in visiting:
            return None
        rel, index = key
        own = self._scaled_own.get(rel)
        if own is None:  # once per file
            own = self._scaled_own[rel] = {}
            for call in self.index.facts[rel].calls:
                if call.blocking == "file" and not call.offloaded and not call.brief and (
                        bulk_call(self.catalog, call.name) or call.loop_depth > call.ticks
                        and not quick_call(self.catalog, call.name)):
                    own.setdefault(call.function, call)
        fn = self.index.facts[rel].functions[index]
        me = Hop(fn.qualname, rel, fn.line)
        mine = own.get(index)
        found = (me, Hop(mine.name, rel, mine.line)) if mine is not None else None
        visiting.add(key)
        for callee in fn.callees if found is None else ():
            target = self.index.resolve(rel, callee)
            if target is None or target == key:
                continue
            tail = self._blocks(target, 0, set())
            if tail is None or self._category[target][0] != "file":
                continue
            if callee not in fn.loop_callees:
                tail = self._scaled(target, depth + 1, visiting)
            if tail is not None:
                found = (me, *tail)
                break
        visiting.discard(key)
        if found is not None or not visiting:
            self._scaled_memo[key] = found
        return found

    def _interactive(self, chain: tuple[Hop, ...]) -> bool:
        """A helper of the chain (not the blocking call at its end) reads the terminal."""
        for hop in chain[:-1]:
            prompts = self._prompts.get(hop.path)
            if prompts is None:  # once per file, not per chain
                prompts = self._prompts[hop.path] = {
                    call.function for call in self.index.facts[hop.path].calls
                    if call.blocking == "stdin"}
            if self.index.functions.get(hop.path, {}).get(hop.name) in prompts:
                return True
        return False

    def _twin(self, chain: tuple[Hop, ...], caller: FunctionKey) -> str:
        """The first helper of the chain (not the blocking call at its end) that has an
        async twin: a coroutine of the same class or module named `a<name>`,
        `<name>_async` or `async_<name>` (`get_all_files` / `aget_all_files`, `invoke` /
        `ainvoke`), as `helper -> twin`."""
        for hop in chain[:-1]:
            fn = self._function_of(hop)
            if fn is None:
                continue
            facts = self.index.facts[hop.path]
            bare = fn.name.lstrip("_")
            lead = fn.name[:len(fn.name) - len(bare)]
            names = {f"{lead}a{bare}", f"{fn.name}_async", f"{lead}async_{bare}"}
            for j, other in enumerate(facts.functions):
                # Not the coroutine making the call: `async_run` calling `run` is the twin
                # itself, doing it wrong (eval G: swarms' circular advice).
                if other.is_async and other.name in names and (hop.path, j) != caller and \
                        other.class_name == fn.class_name and other.parent == fn.parent:
                    return f"{fn.qualname} -> {other.qualname}"
        return ""

    def _loop_bound(self, chain: tuple[Hop, ...]) -> bool:
        """A helper of the chain (not the blocking call at its end) calls what needs the
        event loop of its thread, or its stack (`inspect.currentframe()`), itself or
        through project functions and constructors it calls (up to ONCE_DEPTH calls down):
        held-out S31, uAgents' tool `_run` builds
        an `Agent`, whose `__init__` asks `get_event_loop_policy().get_event_loop()`,
        which raises in a worker thread. Or what reads the exception being handled
        (`sys.exc_info()`, `traceback.format_exc()`): a worker thread sees none (held-out
        S32b: h2o-llmstudio's error card, built in a thread, lost its stack trace)."""
        return any(key is not None and self._needs_loop(key, ONCE_DEPTH)
                   for key in map(self._key_of, chain[:-1]))

    def _key_of(self, hop: Hop) -> FunctionKey | None:
        index = self.index.functions.get(hop.path, {}).get(hop.name)
        return (hop.path, index) if index is not None else None

    def _needs_loop(self, key: FunctionKey, depth: int) -> bool:
        # By depth too: an answer cut short at the depth limit (asked from deep in one
        # chain) must not answer for a helper asked from the top of another (held-out
        # S41c: agentscope-runtime's deployer reached its frame walk two calls down).
        memo = (key, depth)
        if memo in self._loop_users:
            return self._loop_users[memo]
        self._loop_users[memo] = False  # a cycle adds nothing
        rel, index = key
        fn = self.index.facts[rel].functions[index]
        # An exception read inside the helper's own `except` (or under an `if`) is its own:
        # it is raised and handled in the same thread (held-out S32c: chat-with-your-data's
        # `logger.exception` in a helper's handler was taken for the caller's).
        found = any(name.startswith(_LOOP_USERS) or name in _FRAME_READERS or
                    name.startswith(_MAIN_THREAD_ONLY) or
                    name in _EXCEPTION_READERS and name not in fn.branch_callees
                    for name in fn.callees)
        if not found and depth > 0:
            for name in fn.callees:
                if name.startswith("?"):
                    continue
                target = self.index.resolve(rel, name)  # a class: its `__init__`
                if target is not None and target != key and \
                        self._needs_loop(target, depth - 1):
                    found = True
                    break
        self._loop_users[memo] = found
        return found

    def _function_of(self, hop: Hop) -> FunctionFact | None:
        """The project function a hop of a chain names."""
        facts = self.index.facts.get(hop.path)
        index = self.index.functions.get(hop.path, {}).get(hop.name)
        return facts.functions[index] if facts is not None and index is not None else None

    def _bridges(self, key: FunctionKey) -> bool:
        """The function, or a def nested in it, starts an event loop of its own."""
        rel, index = key
        functions = self.index.facts[rel].functions
        inside = {index}
        for i in range(index + 1, len(functions)):  # nested defs follow their parent
            if functions[i].parent in inside:
                inside.add(i)
        return any(name in _LOOP_RUNNERS or name.endswith(".run_until_complete")
                   for i in inside for name in functions[i].callees)

    def _runs_passed(self, key: FunctionKey, call: CallFact) -> bool:
        """The sync helper calls, in its own body, the parameter that `call.passed` is
        handed to: `def _call(self, fn, *a): return fn(*a)`."""
        fn = self.index.facts[key[0]].functions[key[1]]
        if fn.is_async or fn.yields or not fn.called_params:
            return False
        return _parameter(fn, call.passed_position, call.passed_keyword) in fn.called_params

    def offloaded_for_file(self, rel: str) -> frozenset[int]:
        """Calls (by index) inside a lambda handed to a project function that hands that
        parameter to a worker thread (`await _run_sync(lambda: _post_json(url, p))`, where
        `_run_sync` awaits `asyncio.to_thread(fn)`): they run there, not on the event loop
        (held-out S27: PraisonAI's standalone senders, three OPT104 findings)."""
        facts = self.index.facts[rel]
        out = set()
        for i, call in enumerate(facts.calls):
            if not call.lambda_to or call.function < 0:
                continue
            target = self.index.resolve(rel, call.lambda_to)
            if target is None:
                continue
            fn = self.index.facts[target[0]].functions[target[1]]
            if fn.thread_params and _parameter(
                    fn, call.lambda_position, call.lambda_keyword) in fn.thread_params:
                out.add(i)
        return frozenset(out)

    def _blocks(self, key: FunctionKey, depth: int, visiting: set[FunctionKey],
                consumed: bool = False) -> tuple[Hop, ...] | None:
        """`consumed`: the call is what its caller's `for` loop iterates, so a generator's
        body runs there (its chain is memoized apart from a plain call's, which runs
        nothing)."""
        memo = self._consumed if consumed else self._memo
        if key in memo:
            return memo[key]
        if depth > MAX_DEPTH or key in visiting:
            return None
        rel, index = key
        facts = self.index.facts[rel]
        fn = facts.functions[index]
        if fn.is_async or fn.cached or fn.sync_on_purpose or (fn.yields and not consumed):
            # A coroutine or a generator is not run by calling it (the consumer runs the
            # generator's body, later); a memoized helper (functools.cache, lru_cache,
            # cached_property) does its blocking work once per process (or per argument),
            # not on every call; a helper documented as synchronous on purpose blocks by
            # its author's choice.
            memo[key] = None
            return None
        me = Hop(fn.qualname, rel, fn.line)
        direct = self._direct_blocking(rel, index)
        if direct is not None:
            chain = (me, Hop(direct.name, rel, direct.line))
            memo[key] = chain
            self._quick[key] = (quick_call(self.catalog, direct.name) or direct.quick_command) \
                and not direct.table_scan
            self._category[key] = (direct.blocking, direct.replacement, direct.conditional,
                                   direct.own_session)
            return chain
        visiting.add(key)
        found = None
        best = (True, True)
        # A chain every run reaches is the better evidence: callees called on every path
        # first, and the search goes on past a chain that blocks only on some paths. Then
        # a request over a file read: the search goes on past a file chain (held-out S45:
        # ChatGPT-Telegram-Bot's info message reads a config file and asks GitHub for the
        # latest version, the request that can hang the bot; the file read was shown).
        rare = set(fn.branch_callees)
        # What it keeps once made (`if self._x is None: self._x = make()`, a global set
        # so, a call past a memo hit) runs once per object or process, or on a miss.
        lazy = set(fn.lazy_callees)
        for callee in sorted(fn.callees, key=lambda name: name in rare):
            target = self.index.resolve(rel, callee)
            if target is None or target == key or callee in lazy:
                continue
            tail = self._blocks(target, depth + 1, visiting)
            if tail:
                category, replacement, conditional, own_session = self._category[target]
                conditional = conditional or callee in rare
                rank = (conditional, category == "file")
                if found is None or rank < best:
                    found, best = (me, *tail), rank
                    self._category[key] = (category, replacement, conditional, own_session)
                    self._quick[key] = self._quick[target]
                if best == (False, False):
                    break
        visiting.discard(key)
        # Only settled answers are memoized: a None found while a cycle was open may
        # become a chain once the cycle's other members are done.
        if found is not None or not visiting:
            memo[key] = found
        return found


@dataclass
class FileLinks:
    """What the project-wide view adds to one file's facts."""

    via: dict[int, Via]
    """Calls (by index in facts.calls) in async defs that block through project helpers."""
    awaited: dict[str, Awaited]
    """Resolved names of calls awaited per item (loops) or in a group -> (is_async, awaits,
    reaches I/O, initialises shared state on first use) of the project function they
    reach. A coroutine that awaits nothing, or
    reaches no request, gains nothing from running concurrently."""
    runs_once: frozenset[int] = frozenset()
    """Functions (by index) that build a client, whose every caller found in the project is
    setup code (`__init__`, `main`, startup hooks): they run once per process or object."""
    alone: frozenset[int] = frozenset()
    """Coroutines (by index) that run alone on an event loop of their own (see
    _alone_on_loop)."""
    setup_only: frozenset[int] = frozenset()
    """Of `runs_once`, those no program entry point (`main`) reaches: only code that sets
    up or ends an object or the service (`__init__`, `connect`, a startup hook, `close`)
    calls them. A program's `main` runs its whole job once: a loop there is the job, not
    set-up, so its concurrency still counts."""
    wraps: dict[int, Wrapped] = field(default_factory=dict)
    """Calls (by index in facts.calls, CallFact.constructs) that make an instance of a
    project class whose `__init__` builds a client (see _client_wrappers)."""
    offloaded: frozenset[int] = frozenset()
    """Calls (by index in facts.calls) inside a lambda handed to a project function that
    runs that parameter in a worker thread (BlockingLinker.offloaded_for_file)."""
    fresh_loop: frozenset[int] = frozenset()
    """Coroutines (by index) that some project call runs on an event loop made for that
    call (`asyncio.run`, `async_to_sync`, a Flask view), or that such a one awaits (see
    _alone_on_loop)."""
    uncalled: frozenset[int] = frozenset()
    """Private functions (by index) that nothing in the project names (see _uncalled)."""
    on_loop: frozenset[int] = frozenset()
    """Plain `def`s (by index) a framework runs on its event loop's thread: `get`, `post`,
    `on_message` of a Tornado handler, a sync tool of the MCP SDK's FastMCP (see
    _loop_handler_methods)."""
    starts_alone: frozenset[int] = frozenset()
    """Coroutines (by index) alone on a loop of their own until their first await, that
    start tasks after it (see _starts_alone)."""


_LOOP_USERS = ("asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.create_task",
               "asyncio.ensure_future", "asyncio.current_task", "asyncio.all_tasks")
"""Calls that need the event loop of the thread they run in: a sync helper making one
runs only on the loop's own thread."""

_EXCEPTION_READERS = frozenset({
    "sys.exc_info", "sys.exception", "traceback.format_exc", "traceback.print_exc",
    "logging.exception", "logging.getLogger.exception", "logging.getLogger().exception"})
"""Calls that read the exception the thread is handling: in a worker thread there is none
(`sys.exc_info()` is `(None, None, None)`, the traceback printed is `NoneType: None`)."""

_FRAME_READERS = frozenset({"inspect.currentframe", "inspect.stack", "inspect.getouterframes",
                            "inspect.trace", "sys._getframe"})
"""Calls that read the calling thread's stack (to find the caller's module or source file):
in a worker thread the caller's frames are not there (held-out S41c: agentscope-runtime's
deployer finds the user's app by walking up from `inspect.currentframe()`)."""

_MAIN_THREAD_ONLY = ("signal.signal", "signal.setitimer", "matplotlib.pyplot.", "tkinter.")
"""Calls that work only in the main thread (`signal.signal` raises ValueError elsewhere) or
whose global state and GUI backends are not thread-safe (pyplot, Tk): by prefix (held-out
S41b: NeMo Agent Toolkit's sizing report plots with pyplot, and was to move to a thread)."""

_LOOP_RUNNERS = frozenset({"asyncio.run", "anyio.run", "trio.run", "asgiref.sync.async_to_sync",
                           "asyncio.run_coroutine_threadsafe"})
"""Calls that run a coroutine to completion from sync code (on a loop of their own, or on
another thread's loop, waiting for it)."""

INHERIT_DEPTH = 4
"""How many base classes and re-exports a name may pass through (a cycle ends there)."""

ONCE_DEPTH = 3
"""How many calls up from a client builder the search for setup callers goes
(`__init__` → `_init_client` → `_test_connection`)."""


def _candidates(facts: FileFacts, setup: frozenset[str],
                wraps: Mapping[int, Wrapped]) -> set[int]:
    """Functions whose findings depend on how often they run: those that build a client
    (or an object that builds one), make a network call, or block (client-per-call,
    missing-timeout, blocking calls and file work), and coroutines (blocking through
    helpers, awaits in loops)."""
    out = {call.function for call in facts.calls
           if call.function >= 0 and (call.client or call.blocking or call.timeout)}
    out.update(facts.calls[j].function for j in wraps if facts.calls[j].function >= 0)
    out.update(i for i, fn in enumerate(facts.functions) if fn.is_async)
    return {i for i in out if facts.functions[i].name not in setup}


def _client_wrappers(index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]]
                     ) -> dict[str, dict[int, Wrapped]]:
    """Calls that make an instance of a project class whose `__init__` builds a client,
    itself or through a factory of the project it calls (a function that returns the
    client it builds: `self.s3 = S3Helper._client()`, `return boto3.client("s3")`), or
    that call such a factory themselves (`client = self.get_client()`), per file. Made per
    call of a function, such an instance builds a client per call (held-out V: SuperAGI's
    `S3Helper()` in every file tool, a boto3 client each). Not a client built only when
    none was passed (`client or Client()`), nor one `__init__` returns."""
    factories: dict[FunctionKey, CallFact] = {}
    inits: list[tuple[str, int, FunctionFact]] = []
    built: dict[FunctionKey, CallFact] = {}
    for source, facts in files:
        for call in facts.calls:
            if call.client and call.function >= 0 and not call.shared:
                key = (source.rel, call.function)
                if call.returned:
                    factories.setdefault(key, call)
                elif facts.functions[call.function].name == "__init__":
                    built.setdefault(key, call)
        # A singleton class (`class AsyncRequestor(Singleton)`, its metaclass's `__call__`
        # returning the one instance) makes its client once: constructing it again hands
        # back the first (held-out S32c: vocode's shared aiohttp session, 3 FP).
        singletons = {qual for qual, bases in facts.class_bases
                      if "singleton" in qual.rsplit(".", 1)[-1].lower()
                      or any("singleton" in b.rsplit(".", 1)[-1].lower() for b in bases)}
        inits.extend((source.rel, i, fn) for i, fn in enumerate(facts.functions)
                     if fn.name == "__init__" and fn.class_name
                     and fn.qualname.rsplit(".", 1)[0] not in singletons)
    wrappers: dict[FunctionKey, Wrapped] = {}
    # A factory called where its client is used (`client = self.get_client()` in the
    # method that sends, per call; held-out S35b: marker's OpenAI and Claude services)
    # builds one per call of that function, as a wrapper made there does.
    for key, call in factories.items():
        factory = index.facts[key[0]].functions[key[1]]
        if call.fresh and not factory.cached:
            wrappers[key] = Wrapped(call.client, f"{factory.qualname} → {call.name}")
    for rel, i, fn in inits:
        key = (rel, i)
        if key in built:
            wrappers[key] = Wrapped(built[key].client, f"{fn.qualname} → {built[key].name}")
            continue
        for callee in fn.callees:
            target = index.resolve(rel, callee)
            if target is not None and target in factories:
                factory = index.facts[target[0]].functions[target[1]]
                if factory.cached:
                    # A memoized factory (`@functools.cache def get_model(name)`) hands
                    # every instance the same client (held-out S32: agent-service-toolkit's
                    # `Safeguard()` per request, one cached ChatGroq for all).
                    continue
                call = factories[target]
                wrappers[key] = Wrapped(
                    call.client, f"{fn.qualname} → {factory.qualname} → {call.name}")
                break
    if not wrappers:
        return {}
    out: dict[str, dict[int, Wrapped]] = {}
    for source, facts in files:
        for j, call in enumerate(facts.calls):
            if call.constructs:
                target = index.resolve(source.rel, call.name)
                if target is not None and target in wrappers:
                    out.setdefault(source.rel, {})[j] = wrappers[target]
    return out


def _runs_once(index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]],
               catalog: Catalog, callers_of: Callers,
               wraps: Mapping[str, Mapping[int, Wrapped]] | None = None
               ) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Functions that run only from setup code: every caller found in the project's own
    code (tests and examples are no evidence of how a service calls it) is setup code
    (`__init__`, `main`, a startup hook, a command-line command, a method whose name says
    it starts or ends an object's life: `connect`, `close`) calling outside its loops, or
    itself runs only from setup code, up to ONCE_DEPTH calls up. Only names of interest
    are looked up among every function's callees (a string test), level by level, so the
    cost stays small on a large tree. Returns those, and of them the ones no entry point
    (`main`) reaches (FileLinks.setup_only)."""
    setup = catalog.setup_functions
    wraps = wraps or {}
    candidates = [(source.rel, i) for source, facts in files
                  for i in _candidates(facts, setup, wraps.get(source.rel, {}))]
    if not candidates:
        return {}, {}
    facts_of = {source.rel: facts for source, facts in files}

    def name_of(key: FunctionKey) -> str:
        return facts_of[key[0]].functions[key[1]].name

    def is_setup(caller: FunctionFact) -> bool:
        # A route or a tool runs per request or tool call, whatever its name says
        # (`@mcp.tool() async def start_security_scan`).
        return not is_route(caller.decorators) and (
            caller.name in setup or caller.startup or catalog.once_caller(caller.name))

    # callee -> [(caller, caller is setup code, called inside the caller's loops,
    #             caller is an entry point)]
    callers: dict[FunctionKey, list[tuple[FunctionKey, bool, bool, bool]]] = {}
    # Module-level code runs once per run: a coroutine it hands to a loop runner
    # (`asyncio.run(upload())` under the `__main__` guard) runs once (held-out V:
    # pydantic-ai's verification scripts, a client "per call" of functions run once), in
    # a script or at the bottom of a library module (held-out S28: kimi-cli's chat
    # providers end with `if __name__ == "__main__":` and a `_dev_main` smoke test).
    for source, facts in files:
        for name in facts.driven:
            target = index.resolve(source.rel, name)
            if target is not None and target[0] == source.rel:
                callers.setdefault(target, []).append(((source.rel, -1), True, False, False))
        # So do plain calls of module-level code (`config = generate_config()` under the
        # `__main__` guard of a package's `__main__.py`; held-out S30b: openui's proxy
        # config, a client "per call" of a function called once): those of a package's
        # `__main__.py`, and a script's of a script. Not a library module's: under its
        # `__main__` guard they are a smoke test of what the service calls per request
        # through paths link may not see (S29b: GPTSwarm's search tool was demoted so).
        if context_of(source.rel) != "script":  # (a package's `__main__.py` is one)
            continue  # before resolving: a library's module-level calls are many
        main = source.rel.rsplit("/", 1)[-1] == "__main__.py"
        for name in facts.module_callees:
            target = index.resolve(source.rel, name)
            if target is not None and (main or context_of(target[0]) == "script"):
                callers.setdefault(target, []).append(((source.rel, -1), True, False, False))
    wanted = {name_of(key) for key in candidates}
    looked: set[str] = set()
    extends: set[tuple[FunctionKey, FunctionKey]] = set()
    """(override, base) of `super().m()` calls: the base runs as part of that override, a
    call no other override of the base ever receives."""
    for _ in range(ONCE_DEPTH):
        wanted -= looked
        if not wanted:
            break
        looked |= wanted
        found: list[FunctionKey] = []
        for key, caller, callee, target in callers_of.to(wanted):
            # Tests and examples say nothing of how the service calls a function; a
            # script's own calls do say how the script runs it (its `main`).
            if not _service_file(key[0]) and not (
                    context_of(key[0]) == "script" and context_of(target[0]) == "script"):
                continue
            # A call whose result the caller keeps on `self` the first time runs once per
            # object, as from `__init__` (held-out S32: cheshire-cat's model discovery).
            setup_caller = is_setup(caller) or callee in caller.lazy_callees
            if callee.startswith(SUPER):
                extends.add((key, target))
            callers.setdefault(target, []).append(
                (key, setup_caller, callee in caller.loop_callees,
                 caller.name == _ENTRY_POINT))
            if not setup_caller:
                found.append(key)
        wanted = {name_of(key) for key in found}

    memo: dict[tuple[FunctionKey, bool], bool] = {}

    def once(key: FunctionKey, entry_ok: bool) -> bool:
        # `callers` holds ONCE_DEPTH levels only: past them a function has no entry, and
        # no entry is no evidence.
        if (key, entry_ok) in memo:
            return memo[(key, entry_ok)]
        memo[(key, entry_ok)] = False  # a cycle (recursion) is not setup code
        seen = callers.get(key, []) + [
            found for base in index.overridden(key) for found in callers.get(base, ())
            if (found[0], base) not in extends]
        result = bool(seen) and all(
            not in_loop and (entry_ok or not entry) and (
                setup_caller or once(caller, entry_ok))
            for caller, setup_caller, in_loop, entry in seen)
        memo[(key, entry_ok)] = result
        return result

    out: dict[str, set[int]] = {}
    lifecycle: dict[str, set[int]] = {}
    for key in candidates:
        if once(key, True):
            out.setdefault(key[0], set()).add(key[1])
            if once(key, False):
                lifecycle.setdefault(key[0], set()).add(key[1])
    return out, lifecycle


def _parameter(fn: FunctionFact, position: int, keyword: str) -> str:
    """The parameter of `fn` an argument at this position (-1: by `keyword`) binds."""
    if keyword:
        return keyword
    params = _caller_params(fn)
    return params[position] if 0 <= position < len(params) else ""


def _caller_params(fn: FunctionFact) -> list[str]:
    """The positional parameters as a caller fills them."""
    params = list(fn.positional_params)
    if fn.class_name and "staticmethod" not in {d.rsplit(".", 1)[-1] for d in fn.decorators}:
        # Called as a bound method (`self._call(...)`, `Client(...)` runs `__init__`):
        # the first parameter is the instance.
        params = params[1:]
    return params


_ENTRY_POINT = "main"
"""The name of a program's entry point (one of the catalog's setup functions): what it
calls runs once per process, but it is the program's job, not the set-up of a service."""


class Callers:
    """Every function's callees by the last part of the called name, built in one pass on
    first use and shared by the searches that walk up from a function to its callers
    (runs_once, alone): each used to scan every callee of the project once per level.
    Only a callee whose last part is wanted is resolved (a dict lookup first)."""

    def __init__(self, index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]]) -> None:
        self.index = index
        self.files = files
        self._by_last: dict[str, list[tuple[int, int, int, str]]] | None = None
        self._resolved: dict[tuple[int, str], FunctionKey | None] = {}

    def _last_parts(self) -> dict[str, list[tuple[int, int, int, str]]]:
        if self._by_last is None:
            by_last: dict[str, list[tuple[int, int, int, str]]] = {}
            for f, (_, facts) in enumerate(self.files):
                for i, fn in enumerate(facts.functions):
                    for j, callee in enumerate(fn.callees):
                        by_last.setdefault(callee.rsplit(".", 1)[-1], []).append(
                            (f, i, j, callee))
            self._by_last = by_last
        return self._by_last

    def named(self, wanted: Iterable[str], counted: Callable[[str], bool] | None = None
              ) -> Iterator[tuple[FunctionKey, FunctionFact, str, FunctionKey | None]]:
        """(caller, its facts, the callee's name, the project function it resolves to or
        None) for every call whose last name part is in `wanted`, from the files `counted`
        accepts (all by default)."""
        by_last = self._last_parts()
        # In the project's order (file, function, callee), as a walk of every callee would
        # meet them: resolving a name can depend on what was resolved before (a cycle of
        # base classes is cut where it is first met).
        found = sorted(entry for name in wanted for entry in by_last.get(name, ()))
        for f, i, _, callee in found:
            source, facts = self.files[f]
            if counted is not None and not counted(source.rel):
                continue
            # Each level of each search asks again: resolve a name once per file.
            memo = (f, callee)
            if memo in self._resolved:
                target = self._resolved[memo]
            else:
                target = self._resolved[memo] = self.index.resolve(source.rel, callee)
            yield (source.rel, i), facts.functions[i], callee, target

    def to(self, wanted: Iterable[str], counted: Callable[[str], bool] | None = None
           ) -> Iterator[tuple[FunctionKey, FunctionFact, str, FunctionKey]]:
        """`named`, the calls that resolve to a project function only."""
        for key, caller, callee, target in self.named(wanted, counted):
            if target is not None:
                yield key, caller, callee, target


def _service_file(rel: str) -> bool:
    """Not a test, example, script or migration: calls there say nothing of how often, or
    on which loop, the service runs a function (a function only they call has no caller,
    so no evidence)."""
    return context_of(rel) not in DEMOTED


def _run_by_runner(index: ProjectIndex, rel: str, handed: Sequence[str],
                   runners: Mapping[FunctionKey, frozenset[int]]) -> list[str]:
    """Of `asyncio_run(export(...))` calls (FunctionFact.run_handed), the coroutine
    functions handed where a project function runs its argument on a loop of its own
    (`def asyncio_run(coro): ... return asyncio.run(coro)` in another module; held-out
    S36d: marimo's export commands, whose file work was reported as stalling a server).
    `runners`: _runner_positions."""
    out = []
    for entry in handed:
        outer, position, inner = entry.split("\t")
        target = index.resolve(rel, outer)
        if target is not None and int(position) in runners.get(target, ()):
            out.append(inner)
    return out


def _runner_positions(index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]]
                      ) -> dict[FunctionKey, frozenset[int]]:
    """Each runner's positions (FunctionFact.runner_params), with those of functions that
    hand a parameter on to a runner at one (`def run_task(coro_factory, *, user_id): ...
    _run_async_celery_task(coro_factory)`; held-out S37b: SurfSense's connector tasks go
    through such a wrapper), a few hands deep."""
    out = {(source.rel, i): frozenset(fn.runner_params) for source, facts in files
           for i, fn in enumerate(facts.functions) if fn.runner_params}
    if not out:
        return out
    handing = [((source.rel, i), fn) for source, facts in files
               for i, fn in enumerate(facts.functions) if fn.run_handed]
    for _ in range(INHERIT_DEPTH):
        grown = False
        for key, fn in handing:
            params = _caller_params(fn)
            for entry in fn.run_handed:
                # A parameter handed on is named bare (facts._run_handed).
                outer, position, inner = entry.split("\t")
                if inner not in params:
                    continue
                target = index.resolve(key[0], outer)
                mine = out.get(key, frozenset())
                if target is not None and int(position) in out.get(target, ()) and \
                        params.index(inner) not in mine:
                    out[key] = mine | {params.index(inner)}
                    grown = True
        if not grown:
            break
    return out


def _alone_on_loop(index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]],
                   callers_of: Callers) -> tuple[dict[str, set[int]], dict[str, set[int]],
                                                 dict[str, set[int]]]:
    """Coroutines that run alone on an event loop of their own: every project call of one
    hands it straight to a loop runner in sync code (`loop.run_until_complete(self._work())`
    in a thread's target, `asyncio.run(main())`), or comes from such a coroutine awaiting
    it, and none of them starts concurrent work (gather, create_task, a TaskGroup). A
    blocking call in one stalls nothing else: no other task waits on that loop. So do
    coroutines that prompt at the terminal themselves, and what only they await. Returns
    those, and the coroutines that some project call runs on an event loop made for that
    call, with what they await (up to ONCE_DEPTH calls down): an asyncio client kept from
    one call to the next would be bound to a loop that is closed by then; and those alone
    only until their first await (_starts_alone)."""
    driven: set[FunctionKey] = set()
    run_by: dict[FunctionKey, set[str]] = {}
    """What each function hands to a project runner of another file (_run_by_runner), as
    FunctionFact.driven says what it hands to asyncio.run itself."""
    per_call: set[FunctionKey] = set()
    """Driven by a function of the service (a sync API's wrapper, a Celery task), which may
    run many times in one process: a new loop each time. Not module-level code, a script or
    a test: those make one loop per run."""
    runners = _runner_positions(index, files)
    for source, facts in files:
        # Of functions, and of module-level code (`asyncio.run(main())` under a `__main__`
        # guard; held-out R: AI-Researcher's paper-writing scripts, 29 findings).
        # (name, run by a function of a service file: maybe many times per process)
        service = _service_file(source.rel)
        for i, fn in enumerate(facts.functions):
            if fn.run_handed:
                ran = _run_by_runner(index, source.rel, fn.run_handed, runners)
                if ran:
                    run_by[(source.rel, i)] = set(ran)
        names = [(name, service) for i, fn in enumerate(facts.functions)
                 for name in (*fn.driven, *run_by.get((source.rel, i), ()))]
        if context_of(source.rel) != "test":
            names.extend((name, False) for name in (
                *facts.driven, *_run_by_runner(index, source.rel, facts.run_handed, runners)))
        # An example shows one way to run a coroutine of the package (`asyncio.run(agent.
        # invoke(...))`); its users may await it on a loop that serves others (held-out
        # S42: amazon-bedrock-agent-samples' InlineAgent.invoke, its blocking boto3 calls
        # taken for alone by its examples' runs). A script is a program's own entry.
        shown = context_of(source.rel) in ("example", "test")
        for name, repeated in names:
            target = index.resolve(source.rel, name) if "<locals>" not in name else next(
                ((source.rel, i) for i, fn in enumerate(facts.functions)
                 if fn.qualname == name), None)  # a def nested in the runner's function
            if target is not None and shown and _service_file(target[0]):
                continue
            if target is not None and index.facts[target[0]].functions[target[1]].is_async:
                driven.add(target)
                if repeated:
                    per_call.add(target)
        # A Flask view runs on an event loop made for its request (held-out S33: OpenCopilot's
        # chat routes, 12 OPT104 findings whose database calls delayed only that request).
        views = {(source.rel, i) for i, fn in enumerate(facts.functions)
                 if fn.is_async and flask_view(fn.decorators)}
        driven |= views
        per_call |= views
    # A coroutine that waits for the person at the terminal (`input()`, a console prompt)
    # holds its event loop while it waits: that loop serves a console session, not
    # concurrent requests, whoever calls it (held-out Q: crawl4ai's profile manager menu).
    prompting = {(source.rel, call.function) for source, facts in files for call in facts.calls
                 if call.blocking == "stdin" and not call.offloaded and call.function >= 0
                 and facts.functions[call.function].is_async}
    fresh = _awaited_below(index, per_call)
    driven |= prompting
    if not driven:
        return {}, {}, {}
    # Not one the project also hands over uncalled (`upload=uploader.aupload`): whoever
    # receives it may await it on a loop that serves others (held-out P: openllmetry's
    # image upload runs under `asyncio.run` in one wrapper and on the caller's loop through
    # a configured callback).
    # A plain name counts where it resolves to the coroutine (absl's `app.run(main)` in one
    # script does not hand over every `main` of the project: held-out S30, MobileAgent's
    # `asyncio.run(main(args))` scripts); an attribute by its last part (its receiver's
    # type is not known).
    names = {index.facts[k[0]].functions[k[1]].name for k in driven}
    handed: set[str] = set()
    handed_keys: set[FunctionKey] = set()
    # Those a function of the file hands to a project runner are handed to be run alone
    # (`run_async_task(self._fork, ...)`; held-out S39b: AReaL's schedulers), not kept.
    to_runners: dict[str, set[str]] = {}
    for key, ran in run_by.items():
        to_runners.setdefault(key[0], set()).update(n.rsplit(".", 1)[-1] for n in ran)
    for source, facts in files:
        if not _service_file(source.rel):
            continue
        handed.update(last for last in facts.handed if last in names
                      and last not in to_runners.get(source.rel, ()))
        for ref in facts.handed_names:
            if ref.rsplit(".", 1)[-1] in names:
                target = index.resolve(source.rel, ref)
                if target is not None:
                    handed_keys.add(target)
    # One that gathers tasks is alone before and after its `await gather(...)` (held-out R:
    # modelscope's `get_perception_infos`, run by `asyncio.run`); the tasks it gathers are
    # not (they run beside each other).
    kept = {key for key in driven if index.facts[key[0]].functions[key[1]].name not in handed
            and key not in handed_keys}
    alone = {key for key in kept if not index.facts[key[0]].functions[key[1]].spawns_open}
    starts = _starts_alone(index, callers_of, kept - alone - prompting, run_by)

    # Who calls what, for the names of interest only (a string test first: cheap).
    callers: dict[FunctionKey, list[tuple[FunctionKey, bool, bool]]] = {}
    for _ in range(MAX_DEPTH):
        wanted = {index.facts[k[0]].functions[k[1]].name for k in alone}
        wanted |= {callee.rsplit(".", 1)[-1] for k in alone
                   for callee in index.facts[k[0]].functions[k[1]].callees}
        callers.clear()
        # Method calls on an object of unknown type (`bot = create_bot(kind)` ...
        # `bot.reply_text_stream(q)`), by method name: they may reach any project method
        # of that name (held-out S47: bot-on-anything's model classes, whose streaming
        # replies only a per-event `asyncio.run` drives through its bridge).
        blind: dict[str, list[tuple[FunctionKey, bool, bool]]] = {}
        # A test driving the coroutine its own way (`run(step(...))` with a fixture loop)
        # says nothing of where the service runs it (held-out Q: gptme's ACP step). A
        # script's own calls do say how the script runs its coroutines.
        for key, caller, callee, target in callers_of.named(wanted):
            if target is None:
                if "." in callee and _service_file(key[0]) and \
                        index.of_project(key[0], callee):
                    blind.setdefault(callee.rsplit(".", 1)[-1], []).append(
                        (key, False, callee in caller.gathered))
                continue
            if _service_file(key[0]) or not _service_file(target[0]):
                callers.setdefault(target, []).append(
                    (key, (callee in caller.driven or callee in run_by.get(key, ()))
                     and callee not in caller.gathered, callee in caller.gathered))

        def seen_by(key: FunctionKey) -> list[tuple[FunctionKey, bool, bool]]:
            """Its callers, and for a method the blind calls of its name (none of them may
            be elsewhere); not itself (a retry that calls itself again)."""
            fn = index.facts[key[0]].functions[key[1]]
            return [entry for entry in (*callers.get(key, ()), *(
                blind.get(fn.name, ()) if fn.class_name else ())) if entry[0] != key]

        keep = {key for key in alone if key in prompting or all(
            (by_runner or caller in alone) and not gathered
            for caller, by_runner, gathered in seen_by(key))}
        # Coroutines only these await run alone too (one level further each round).
        candidates = set(callers) | {key for name in blind for key in index.named(name)
                                     if index.facts[key[0]].functions[key[1]].class_name}
        for key in sorted(candidates):
            fn = index.facts[key[0]].functions[key[1]]
            seen = seen_by(key)
            if key not in keep and fn.is_async and not fn.spawns_open and seen and \
                    all(caller in keep and not gathered for caller, _, gathered in seen):
                keep.add(key)
        if keep == alone:
            break
        alone = keep
    return _by_file(alone), _by_file(fresh), _by_file(starts)


def _starts_alone(index: ProjectIndex, callers_of: Callers, spawning: set[FunctionKey],
                  run_by: dict[FunctionKey, set[str]]) -> set[FunctionKey]:
    """Of coroutines handed to a loop runner that start tasks of their own, those every
    project call of which hands them straight to a runner (none awaits them): each is the
    first thing on its loop, and a task it creates only starts at its first await, so what
    it calls before that (CallFact.early) stalls nothing (held-out S44b: unmute's load-test
    client fetching its voice with requests before it starts its emit and receive tasks)."""
    if not spawning:
        return set()
    wanted = {index.facts[k[0]].functions[k[1]].name for k in spawning}
    handed_only: dict[FunctionKey, bool] = {}
    for key, caller, callee, target in callers_of.to(wanted):
        if target in spawning and (_service_file(key[0]) or not _service_file(target[0])):
            handed_only[target] = handed_only.get(target, True) and (
                callee in caller.driven or callee in run_by.get(key, ())) and \
                callee not in caller.gathered
    return {key for key in spawning if handed_only.get(key, True)}


def _by_file(keys: set[FunctionKey]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for rel, i in keys:
        out.setdefault(rel, set()).add(i)
    return out


def _awaited_below(index: ProjectIndex, roots: set[FunctionKey]) -> set[FunctionKey]:
    """`roots` and the project coroutines they call, up to ONCE_DEPTH calls down."""
    found = set(roots)
    frontier = roots
    for _ in range(ONCE_DEPTH):
        below: set[FunctionKey] = set()
        for rel, i in frontier:
            for callee in index.facts[rel].functions[i].callees:
                target = index.resolve(rel, callee)
                if target is not None and target not in found and \
                        index.facts[target[0]].functions[target[1]].is_async:
                    below.add(target)
        if not below:
            break
        found |= below
        frontier = below
    return found


_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "abc.abstractmethod",
                               "typing.override", "typing_extensions.override"})
"""Decorators that leave a method as it is: called, it still makes a bare coroutine."""


def _never_run(index: ProjectIndex, files: list[tuple[SourceFile, FileFacts]],
               callers: Callers) -> dict[str, set[int]]:
    """Coroutine functions the project only ever calls from plain `def`s that drop the
    result (FunctionFact.dropped_callees: `ok = self.check_health()` in `__init__`, then
    `if not ok:`): the coroutine object is made and dropped, and its body never runs (a bug
    of its own, but no loop is stalled; held-out S32: GenAIComps' health checks, 2 FP).
    Every call of the name anywhere, resolved or not, must drop its result; one of them
    must resolve to the function (or to a method it overrides); and the name is handed
    over uncalled nowhere (`on_ready=self.check_health`), nor called by module-level code.
    Decorated ones are left alone (a decorator may run the coroutine)."""
    candidates = [(source.rel, i, fn) for source, facts in files
                  for i, fn in enumerate(facts.functions)
                  if fn.is_async and not set(fn.decorators) - _PLAIN_DECORATORS]
    if not candidates:
        return {}
    # Only names some plain def drops somewhere can qualify (a few: no search for every
    # coroutine's callers).
    dropped = {name.rsplit(".", 1)[-1] for _, facts in files for fn in facts.functions
               for name in fn.dropped_callees}
    names = {fn.name for _, _, fn in candidates} & dropped
    for _, facts in files:
        names -= set(facts.handed)
        names -= {ref.rsplit(".", 1)[-1] for ref in (*facts.handed_names,
                                                       *facts.module_callees, *facts.driven)}
        if not names:
            return {}
    sites: dict[str, list[tuple[FunctionFact, str, FunctionKey | None]]] = {}
    for _, caller, callee, target in callers.named(names):
        sites.setdefault(callee.rsplit(".", 1)[-1], []).append((caller, callee, target))
    out: dict[str, set[int]] = {}
    for rel, i, fn in candidates:
        mine = {(rel, i), *index.overridden((rel, i))}
        # Calls that resolve to another function say nothing of this one; unresolved ones
        # may reach it.
        seen = [(caller, callee, target) for caller, callee, target in sites.get(fn.name, ())
                if target is None or target in mine]
        if any(target is not None for _, _, target in seen) and all(
                not caller.is_async and callee in caller.dropped_callees
                for caller, callee, _ in seen):
            out.setdefault(rel, set()).add(i)
    return out


class IoReach:
    """What the project coroutines a coroutine awaits (three deep) do, besides itself:
    whether one reaches I/O worth overlapping (a request the catalog knows, an offload to a
    thread, a method of an object named as a client: a coroutine that only computes gains
    nothing from running beside another), and whether one sets up shared state on first use
    (`if not self._initialized: await self.initialize()`: several at once would all run it,
    in different tasks)."""

    DEPTH = 3

    def __init__(self, index: ProjectIndex, catalog: Catalog) -> None:
        self.index = index
        self.catalog = catalog
        self._memo: dict[tuple[str, FunctionKey, int], bool] = {}
        self._sync_memo: dict[tuple[FunctionKey, int], tuple[bool, bool]] = {}
        self._sync_own: dict[str, dict[int, tuple[bool, bool]]] = {}

    def reaches(self, key: FunctionKey) -> bool:
        return self._walk("io", key, 0)

    def suspends(self, key: FunctionKey, depth: int = 0) -> bool:
        """The coroutine can give the loop away: it awaits something other than a call
        (`async for`, a task), a call that is not one of the project's own coroutines (a
        library's, an awaitable a sync function returns), an interface's or an overridden
        method, or a project coroutine that suspends itself (DEPTH deep; deeper counts as
        suspending). One that only awaits project coroutines that never suspend runs
        start to end in one go: gathering several runs them one after another all the
        same (held-out S43: mage-ai's Spark API, `await self.__build_request(...)`, a
        coroutine that returns what a sync `requests` call gives)."""
        memo = ("suspends", key, depth)
        if memo in self._memo:
            return self._memo[memo]
        self._memo[memo] = True  # a cycle of awaits: take it as suspending
        rel, index = key
        fn = self.index.facts[rel].functions[index]
        found = fn.opaque_awaits
        for name in fn.awaited_callees:
            if found:
                break
            target = self.index.resolve(rel, name) if name else None
            callee = self.index.facts[target[0]].functions[target[1]] if target else None
            found = callee is None or not callee.is_async or abstract(callee) or \
                depth >= self.DEPTH or bool(_implementations(self.index, target)) or (
                    target != key and self.suspends(target, depth + 1))  # type: ignore[arg-type]
        self._memo[memo] = found
        return found

    def awaited(self, keys: list[FunctionKey], calls_awaited: tuple[str, ...] = ()) -> "Awaited":
        """What link tells the rules of an awaited callee: one project function, or every
        implementation of an abstract coroutine (any of them reaching I/O, setting up
        state, ... counts). A sync one (a single key) awaits through a thread: its own
        awaits, and none of the coroutine flags. Awaits that all run on Django's one sync
        thread (serial_awaits) overlap nothing, nor do those of a coroutine that never
        suspends."""
        fns = [self.index.facts[rel].functions[i] for rel, i in keys]
        if not all(fn.is_async for fn in fns):
            return Awaited(False, fns[0].awaits - fns[0].serial_awaits, False, False, False,
                           calls_awaited)
        return Awaited(
            True, max((fn.awaits - fn.serial_awaits for key, fn in zip(keys, fns)
                       if self.suspends(key)), default=0),
            any(map(self.reaches, keys)), any(map(self.lazy, keys)),
            any(map(self.reaches_net, keys)), calls_awaited, any(map(self.ordered, keys)),
            any(map(self.paced, keys)), any(map(self.fans_out, keys)),
            any(map(self.prompts, keys)))

    def reaches_net(self, key: FunctionKey) -> bool:
        """Reaches I/O other than local files (FunctionFact.net_io)."""
        return self._walk("net_io", key, 0)

    def lazy(self, key: FunctionKey) -> bool:
        return self._walk("lazy_init", key, 0)

    def ordered(self, key: FunctionKey) -> bool:
        return self._walk("shared_handle", key, 0)

    def prompts(self, key: FunctionKey) -> bool:
        return self._walk("prompts", key, 0)

    def paced(self, key: FunctionKey) -> bool:
        return self._walk("paces", key, 0)

    def fans_out(self, key: FunctionKey) -> bool:
        return self._walk("spawns", key, 0)

    def in_thread(self, key: FunctionKey) -> tuple[bool, bool]:
        """(reaches I/O, reaches I/O other than local files) of a sync project function
        handed to a thread (`await asyncio.to_thread(self._transcribe, batch)`): a blocking
        call the catalog knows or a call through an object named as a client, itself or in
        the sync project functions it calls (DEPTH deep). One that reaches none computes
        (a model's inference, a parse): threads running it side by side overlap no wait
        (held-out T: xinference's batches on one shared model)."""
        return self._sync_walk(key, 0, set())

    def _sync_walk(self, key: FunctionKey, depth: int, visiting: set[FunctionKey]
                   ) -> tuple[bool, bool]:
        if (key, depth) in self._sync_memo:  # by depth: see _walk
            return self._sync_memo[(key, depth)]
        rel, index = key
        facts = self.index.facts[rel]
        own = self._sync_own.get(rel)
        if own is None:  # once per file: its functions' blocking calls, net or files
            own = self._sync_own[rel] = {}
            for call in facts.calls:
                if call.blocking and not call.offloaded and call.function >= 0 and \
                        not call.ready:
                    io, net = own.get(call.function, (False, False))
                    own[call.function] = (True, net or call.blocking != "file")
        io, net = own.get(index, (False, False))
        visiting.add(key)
        for callee in facts.functions[index].callees:
            if net:
                break
            if client_call(callee, self.catalog, words=False):
                io, net = True, True
                break
            target = self.index.resolve(rel, callee)
            if target is None or target in visiting or depth >= self.DEPTH or \
                    self.index.facts[target[0]].functions[target[1]].is_async:
                continue
            deeper = self._sync_walk(target, depth + 1, visiting)
            io, net = io or deeper[0], net or deeper[1]
        visiting.discard(key)
        if net or not visiting:
            self._sync_memo[(key, depth)] = (io, net)
        return io, net

    def calls(self, key: FunctionKey, target: FunctionKey, depth: int = 0) -> bool:
        """`key` calls `target`, directly or through project functions (DEPTH deep)."""
        rel, index = key
        for callee in self.index.facts[rel].functions[index].callees:
            found = self.index.resolve(rel, callee)
            if found == target or (found is not None and found != key and depth < self.DEPTH
                                   and self.calls(found, target, depth + 1)):
                return True
        return False

    def _walk(self, flag: str, key: FunctionKey, depth: int) -> bool:
        """`flag` (a FunctionFact field) holds for the coroutine or one it awaits."""
        # By depth too: a walk cut short at the depth limit must not answer for a walk from
        # the top. Keyed by key alone, the answer depended on which coroutine was asked
        # first, and so on the order of a set of names: on PYTHONHASHSEED (found on
        # fast-agent's aggregator, whose capability checks were I/O in one run of four).
        memo = (flag, key, depth)
        if memo in self._memo:
            return self._memo[memo]
        rel, index = key
        found = getattr(self.index.facts[rel].functions[index], flag)
        if found and flag in ("io", "net_io"):
            found = self._own_io(flag, key, depth)
        if not found and depth < self.DEPTH:
            for callee in self.index.facts[rel].functions[index].callees:
                target = self.index.resolve(rel, callee)
                if target is not None and target != key and \
                        self.index.facts[target[0]].functions[target[1]].is_async and \
                        self._walk(flag, target, depth + 1):
                    found = True
                    break
        self._memo[memo] = found
        return found


    def _own_io(self, flag: str, key: FunctionKey, depth: int) -> bool:
        """The coroutine's I/O flag, checked against the project: when every call that set
        it (a request or a call through an object named as a client) is one of the
        project's own coroutines, it holds only if one of those reaches I/O (held-out X:
        `await sources_db.execute_query(...)`, a coroutine that runs sqlite3 and awaits
        nothing, made every per-row loop of awesome-llm-apps' beifong look like I/O)."""
        rel, index = key
        # What it awaits only: the flag comes from awaited calls, and a sync helper of a
        # module named for an API (`.api_utils.prepare_config_scope`) is no request
        # (held-out S45: Red-DiscordBot's playlist scopes, gathered for nothing).
        evidence = [callee for callee in self.index.facts[rel].functions[index].awaited_callees
                    if client_call(callee, self.catalog) or is_request(callee, self.catalog)]
        if not evidence:
            return True  # set by what names do not show (`async with` on a stream)
        for callee in evidence:
            target = self.index.resolve(rel, callee)
            fn = self.index.facts[target[0]].functions[target[1]] if target else None
            if fn is None or target == key or not fn.is_async or abstract(fn) or \
                    depth >= self.DEPTH or self._walk(flag, target, depth + 1):  # type: ignore[arg-type]
                return True
        return False


def _loop_handler_methods(index: ProjectIndex, catalog: Catalog) -> dict[str, set[int]]:
    """Per file, the plain `def`s a framework runs on its event loop's thread: methods
    named as its handlers call (`get`, `post`, `on_message`) of a class that derives from
    one of the catalog's loop handlers (`tornado.web.RequestHandler`), itself or through
    project base classes in other files (held-out S43: mage-ai's API handlers derive from
    its own `BaseHandler` in `server/api/base.py`); and functions registered by one of
    its loop decorators (the MCP SDK's `@mcp.tool()`). A project base is found by its class
    name, in the file its resolved name's module points to."""
    out: dict[str, set[int]] = {}
    if not catalog.loop_handlers and not catalog.loop_decorators:
        return out
    registrars = {d.rsplit(".", 1)[-1] for d in catalog.loop_decorators}
    classes: dict[str, list[tuple[str, str]]] = {}
    for rel, facts in index.facts.items():
        for qual, _ in facts.class_bases:
            classes.setdefault(qual.rsplit(".", 1)[-1], []).append((rel, qual))
    memo: dict[tuple[str, str], bool] = {}

    def derives(rel: str, qual: str, depth: int) -> bool:
        key = (rel, qual)
        if key not in memo:
            memo[key] = False  # a cycle of bases finds nothing
            memo[key] = any(_handler_base(base, rel, depth) for base in
                            index._class_bases(rel).get(qual, ()))
        return memo[key]

    def _handler_base(base: str, rel: str, depth: int) -> bool:
        if not base or base.startswith("?"):
            return False
        if base in catalog.loop_handlers:
            return True
        if depth >= INHERIT_DEPTH:
            return False
        module, _, name = base.rpartition(".")
        module = module.lstrip(".")
        for other, qual in classes.get(name, ()):
            if qual != name:
                continue  # a nested class is not what a module-level name imports
            here = index.module_of[other]
            if (other == rel if not module else here == module or here.endswith(
                    "." + module) or module.endswith("." + here)) and \
                    derives(other, qual, depth + 1):
                return True
        return False

    for rel, facts in index.facts.items():
        for i, fn in enumerate(facts.functions):
            if fn.is_async:
                continue
            if fn.class_name and "<locals>" not in fn.qualname and \
                    fn.name in catalog.loop_handler_methods and \
                    derives(rel, fn.class_name, 0) or any(
                    d in catalog.loop_decorators or index.bound_name(rel, d) in
                    catalog.loop_decorators for d in fn.decorators
                    if d.rsplit(".", 1)[-1] in registrars):
                # A sync `@mcp.tool()` of the MCP SDK's FastMCP, also on an instance made
                # in another module (`from server import mcp`), also nested in the function
                # that builds the server.
                out.setdefault(rel, set()).add(i)
    return out


def _implementations(index: ProjectIndex, key: FunctionKey) -> list[FunctionKey]:
    """The project methods that override the (abstract) method `key`."""
    fn = index.facts[key[0]].functions[key[1]]
    return [other for other in index.named(fn.name)
            if other != key and key in index.overridden(other)]


def abstract(fn: FunctionFact) -> bool:
    """An interface's method: `@abstractmethod`, or a body that does nothing (`...`,
    `pass`, a docstring, `raise NotImplementedError`). What it awaits says nothing of the
    implementations a call through it runs (held-out O: parlant's `Embedder.embed`, an
    abstract coroutine, made the embedding loops look idle)."""
    if any(d.rsplit(".", 1)[-1] == "abstractmethod" for d in fn.decorators):
        return True
    return fn.awaits == 0 and fn.statements <= 2 and (
        fn.calls == 0 or fn.callees == ("NotImplementedError",))


class Awaited(NamedTuple):
    """What link knows of a project function a loop or an await group awaits."""

    is_async: bool
    awaits: int
    """Its awaits that are not Django's one sync thread."""
    reaches_io: bool
    lazy_init: bool
    reaches_net: bool = True
    """Of reaches_io: some of it is not local files (aiofiles): a server, a database."""
    calls_awaited: tuple[str, ...] = ()
    """Other names awaited beside it in an await group that it calls itself (up to
    IoReach.DEPTH deep): run together, the shared callee would run twice at once, and its
    state (a memo, a store it sets up) with it (held-out K: deer-flow's
    `_get_channels_config` calls `_get_channel_connections_config`, awaited just before)."""
    ordered: bool = False
    """It, or a coroutine it awaits (up to IoReach.DEPTH deep), awaits a statement on a
    connection, session or socket its object holds (FunctionFact.shared_handle): calls on
    one object queue on that handle, and an AsyncSession refuses a second operation at once
    (held-out S37b: SurfSense's Dropbox and OneDrive folder walks, its calendar checks)."""
    paced: bool = False
    """It, or a coroutine it awaits (up to IoReach.DEPTH deep), waits for a rate limit
    (FunctionFact.paces): awaited once per item, the items are spaced on purpose (held-out
    S39: airweave's connector harness, `await self._make_request(...)` per page)."""
    concurrent: bool = False
    """It, or a coroutine it awaits (up to IoReach.DEPTH deep), runs work concurrently
    itself (FunctionFact.spawns: a gather, tasks, a TaskGroup), at the concurrency it or its
    config chose: awaited once per item, each item is a whole concurrent run, and
    gathering the items multiplies that load (held-out S41: NeMo Agent Toolkit's
    multi-evaluation runner, whose sizing runs must not overlap)."""
    prompts: bool = False
    """It, or a coroutine it awaits (up to IoReach.DEPTH deep), asks the person at the
    terminal (FunctionFact.prompts): two such awaits ask in turn, and run at once they
    would print both questions and race for the answers (held-out S50: pyrogram's
    `ainput` for a first and a last name)."""


_BASELESS = frozenset({"object", "abc.ABC"})
"""Bases that call no method of their subclasses: a private method of a class with other
bases (`BaseTool._run`, `BaseRetriever._get_relevant_documents`, `Thread.run`'s helpers)
may be a hook the library calls."""


def _uncalled(files: list[tuple[SourceFile, FileFacts]]) -> dict[str, set[int]]:
    """Private functions (`_name`, `__name`) nothing in the project calls: no file's text
    names them besides their own definitions (FileFacts.private_refs), none starts with a
    name some file builds them from (`"_on_" + kind`) or ends with the end of a name a
    format string builds (`f"_{kind}_setup"`), no decorator registers them, and a
    method's class has no base but `object` (a library's base may call its hooks). Dead
    code, or code only something outside the project runs: a finding there is worth less
    (held-out S37: the sizing advisor's `_ingest_collection_docs`, 3 read as wrong; S34c:
    helm's two `_load_test_cases`)."""
    named: set[str] = set()
    for _, facts in files:
        named.update(facts.private_refs)
    prefixes = tuple(name for name in named if name.endswith("_") and len(name) > 2)
    suffixes = tuple(name[1:] for name in named if name.startswith("*"))
    out: dict[str, set[int]] = {}
    for source, facts in files:
        bases = dict(facts.class_bases)
        for i, fn in enumerate(facts.functions):
            name = fn.name
            if not name.startswith("_") or name.endswith("__") or name in named or \
                    set(fn.decorators) - _PLAIN_DECORATORS or name.startswith(prefixes) or \
                    name.endswith(suffixes):
                continue
            owner = fn.qualname.rpartition(".")[0]
            if owner and not owner.endswith("<locals>") and \
                    set(bases.get(owner, ())) - _BASELESS:
                continue
            out.setdefault(source.rel, set()).add(i)
    return out


def link(files: list[tuple[SourceFile, FileFacts]],
         catalog: Catalog | None = None) -> dict[str, FileLinks]:
    """For every file: calls in async defs that block through project helpers, the
    project coroutines its loops and await groups call (and whether they reach I/O), and
    client builders that only setup code calls (the catalog's setup function names)."""
    catalog = catalog or Catalog()
    index = ProjectIndex(files)
    linker = BlockingLinker(index, catalog)
    reach = IoReach(index, catalog)
    callers_of = Callers(index, files)
    wraps = _client_wrappers(index, files)
    once, lifecycle = _runs_once(index, files, catalog, callers_of, wraps)
    alone, fresh, starts = _alone_on_loop(index, files, callers_of)
    # A coroutine nobody runs stalls no loop either (rules read both as `function.alone`).
    for rel, found in _never_run(index, files, callers_of).items():
        alone.setdefault(rel, set()).update(found)
    dead = _uncalled(files)
    handlers = _loop_handler_methods(index, catalog)
    out = {}
    for source, facts in files:
        on_loop = frozenset(handlers.get(source.rel, ()))
        if not on_loop and not any(fn.is_async for fn in facts.functions):
            if source.rel in once or source.rel in wraps or source.rel in dead:
                out[source.rel] = FileLinks({}, {}, frozenset(once.get(source.rel, ())),
                                            setup_only=frozenset(lifecycle.get(source.rel, ())),
                                            wraps=wraps.get(source.rel, {}),
                                            uncalled=frozenset(dead.get(source.rel, ())))
            continue
        offloaded = linker.offloaded_for_file(source.rel)
        via = linker.via_for_file(source.rel, offloaded, on_loop)
        awaited = {}
        names = {lp.await_name for lp in facts.loops if lp.await_name}
        names.update(n for g in facts.await_groups for n in g.names if n)
        handed = {lp.handed for lp in facts.loops if lp.handed} - names
        targets = {name: index.resolve(source.rel, name) for name in sorted(names | handed)}
        for name, target in targets.items():
            if target is None:
                continue
            fn = index.facts[target[0]].functions[target[1]]
            if abstract(fn):
                # As if unresolved: the implementation that runs is not known, unless
                # every one the project has (outside tests) is a coroutine: then what
                # they reach says it. One that never suspends (held-out S30b: the retrieval
                # plugin's Cosmos store runs a sync pymongo query in its `async def
                # query_core`) runs the calls one by one; ones that reach no I/O (held-out
                # S45: Red-DiscordBot's mixin `_build_search_page`, text formatting) have
                # nothing to overlap.
                done = [key for key in _implementations(index, target)
                        if context_of(key[0]) != "test"]
                if name not in handed and fn.is_async and done and all(
                        index.facts[rel].functions[i].is_async for rel, i in done):
                    awaited[name] = reach.awaited(done)
                continue
            if name in handed:
                # Handed to a thread, not awaited: what the thread would overlap.
                if not fn.is_async:
                    io, net = reach.in_thread(target)
                    awaited[name] = Awaited(False, 0, io, False, net)
                continue
            together = {n for g in facts.await_groups if name in g.names for n in g.names}
            calls_awaited = tuple(sorted(
                other for other in together - {name} if targets.get(other) is not None
                and reach.calls(target, targets[other])))  # type: ignore[arg-type]
            awaited[name] = reach.awaited([target], calls_awaited)  # type: ignore[list-item]
        if via or awaited or offloaded or on_loop or source.rel in once or \
                source.rel in alone or source.rel in wraps or source.rel in fresh or \
                source.rel in dead or source.rel in starts:
            out[source.rel] = FileLinks(via, awaited, frozenset(once.get(source.rel, ())),
                                        frozenset(alone.get(source.rel, ())),
                                        frozenset(lifecycle.get(source.rel, ())),
                                        wraps.get(source.rel, {}), offloaded,
                                        frozenset(fresh.get(source.rel, ())),
                                        frozenset(dead.get(source.rel, ())), on_loop,
                                        frozenset(starts.get(source.rel, ())))
    return out
