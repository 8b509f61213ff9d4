"""Sizes checked *before* an operation that can build more than it was given: a width
(`center`, `ljust`, format specs, `%999999999d`), a join, a replace, a repetition. Checking
the result afterwards would come too late: `"x".center(10**9)` has allocated its gigabyte
by then. Every result is sized afterwards too (Budget.result)."""

from __future__ import annotations

import re
import string
from typing import Any, Callable, Mapping

from jinja2.filters import make_attrgetter
from jinja2.sandbox import SecurityError
from jinja2.utils import pass_context

from optadvisor.sandbox.budget import Budget, LimitExceeded, current, weight


def is_int(value: Any) -> bool:
    return isinstance(value, int)


SEQUENCES = (str, bytes, list, tuple)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_printf(budget: Budget, fmt: str | bytes) -> None:
    """`"%999999999d" % 1` allocates its width before anything can look at the result."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    for match in _PRINTF.finditer(text):
        for number in match.groups():
            if number == "*":
                raise LimitExceeded("`*` widths are not allowed in rule templates")
            if number:
                budget.size(int(number[:12]), "a %-format width")


def check_format(budget: Budget, fmt: str) -> None:
    """`'{:>999999999}'.format(x)`: the widths of str.format, which may not come from
    arguments (`{:{w}}`)."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if not spec:
            continue
        if "{" in spec:
            raise LimitExceeded("nested format fields are not allowed in rule templates")
        for number in re.findall(r"\d+", spec):
            budget.size(int(number[:12]), "a format width")


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, key: str,
         default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(key, default)


def _listed(budget: Budget, items: Any) -> Any:
    """An iterable as a list (a generator can be sized only once it is consumed), each
    item a step."""
    if isinstance(items, (list, tuple, str, bytes)):
        return items
    out = []
    for item in items:
        budget.tick()
        out.append(item)
        budget.size(len(out), "a list")
    return out


def _joined_size(budget: Budget, items: Any, sep: Any) -> None:
    cap = budget.limits.chars
    total = len(sep) * max(len(items) - 1, 0) if isinstance(sep, (str, bytes)) else 0
    for item in items:
        total += weight(item, cap)
        budget.size(total, "a join")


def _replaced_size(budget: Budget, text: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(text, (str, bytes)) and isinstance(old, type(text))
            and isinstance(new, type(text))):
        return
    found = len(text) + 1 if not old else text.count(old)
    if is_int(count) and count >= 0:
        found = min(found, count)
    budget.size(len(text) + found * max(len(new) - len(old), 0), "a replace")


# Checks before a call of a str (or bytes) method that can build more than it was given;
# each returns the arguments to call with (a generator is consumed to be sized).
Check = Callable[[Budget, Any, tuple, dict], tuple]


def _width(budget: Budget, receiver: Any, args: tuple, kwargs: dict) -> tuple:
    width = _arg(args, kwargs, 0, "width", kwargs.get("length", 0))  # length: to_bytes
    if is_int(width):
        budget.size(width, "a padded string")
    return args


def _tabs(budget: Budget, receiver: Any, args: tuple, kwargs: dict) -> tuple:
    size = _arg(args, kwargs, 0, "tabsize", 8)
    if is_int(size):
        budget.size(receiver.count("\t" if isinstance(receiver, str) else b"\t")
                    * max(size, 1) + len(receiver), "expandtabs")
    return args


def _join(budget: Budget, receiver: Any, args: tuple, kwargs: dict) -> tuple:
    if not args:
        return args
    items = _listed(budget, args[0])
    _joined_size(budget, items, receiver)
    return (items, *args[1:])


def _replace(budget: Budget, receiver: Any, args: tuple, kwargs: dict) -> tuple:
    if len(args) >= 2:
        _replaced_size(budget, receiver, args[0], args[1], _arg(args, kwargs, 2, "count", -1))
    return args


def _refuse(budget: Budget, receiver: Any, args: tuple, kwargs: dict) -> tuple:
    raise SecurityError("translate/maketrans are not available in rule templates")


_STRING_METHODS: dict[str, Check] = {
    "center": _width, "ljust": _width, "rjust": _width, "zfill": _width,
    "expandtabs": _tabs, "join": _join, "replace": _replace,
    "translate": _refuse, "maketrans": _refuse,
}


def method_check(obj: Any) -> tuple[Check, Any] | None:
    receiver = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(receiver, (str, bytes)):
        check = _STRING_METHODS.get(name)
        return (check, receiver) if check is not None else None
    if is_int(receiver) and name == "to_bytes":  # (1).to_bytes(10**9, 'big')
        return _width, receiver
    return None


# Filters that can build more than they are given, checked before they run; each returns
# the value to filter (a generator is consumed to be sized).
FilterCheck = Callable[[Budget, Any, Any, tuple, dict], Any]
"""(budget, environment, value, args, kwargs) -> value"""


def _filter_width(index: int, key: str) -> FilterCheck:
    def check(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict) -> Any:
        width = _arg(args, kwargs, index, key)
        if is_int(width):
            budget.size(width, f"`{key}`")
        return value
    return check


def _filter_indent(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                   ) -> Any:
    width = _arg(args, kwargs, 0, "width", 4)
    per_line = len(width) if isinstance(width, str) else width if is_int(width) else 0
    text = value if isinstance(value, str) else ""
    budget.size(len(text) + (text.count("\n") + 1) * max(per_line, 0), "indent")
    return value


def _filter_format(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                   ) -> Any:
    if isinstance(value, str):
        check_printf(budget, value)
    return value


def _filter_join(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                 ) -> Any:
    items = _listed(budget, value)
    attribute = _arg(args, kwargs, 1, "attribute")
    # With an attribute the joined strings are the items' attributes: sized as such.
    getter = make_attrgetter(env, attribute) if attribute is not None else None
    _joined_size(budget, [getter(i) for i in items] if getter else items,
                 _arg(args, kwargs, 0, "d", ""))
    return items


def _filter_replace(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                    ) -> Any:
    if len(args) >= 2:
        count = _arg(args, kwargs, 2, "count")
        _replaced_size(budget, value, args[0], args[1], -1 if count is None else count)
    return value


def _filter_wordwrap(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                     ) -> Any:
    wrap = _arg(args, kwargs, 2, "wrapstring") or "\n"
    if isinstance(value, str) and isinstance(wrap, str):
        budget.size(len(value) * (1 + len(wrap)), "wordwrap")
    return value


def _filter_sum(budget: Budget, env: Any, value: Any, args: tuple, kwargs: dict
                ) -> Any:
    # Adding lists one by one copies them every time: quadratic in one C call.
    if isinstance(_arg(args, kwargs, 1, "start", 0), SEQUENCES):
        raise SecurityError("sum() adds numbers in rule templates")
    return value


_FILTER_CHECKS: dict[str, FilterCheck] = {
    "center": _filter_width(0, "width"), "batch": _filter_width(0, "linecount"),
    "slice": _filter_width(0, "slices"), "indent": _filter_indent,
    "format": _filter_format, "join": _filter_join, "replace": _filter_replace,
    "wordwrap": _filter_wordwrap, "sum": _filter_sum,
}


def bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with a step, its check and a sized result. It takes the context whatever
    `fn` takes, which also keeps jinja from running it while compiling (constant
    folding happens outside any budget)."""
    passes = getattr(getattr(fn, "jinja_pass_arg", None), "name", None)
    check = _FILTER_CHECKS.get(name)

    @pass_context
    def bounded(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        env = context.environment
        budget = current(env.limits)
        budget.tick()
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            # Filters stringify their value (`|string`, `|replace`, `|center`...): a list
            # holding one big string many times is small until then.
            budget.size(weight(value, budget.limits.chars), f"the value of |{name}")
        if check is not None:
            value = check(budget, env, value, args, kwargs)
        if passes == "context":
            result = fn(context, value, *args, **kwargs)
        elif passes == "eval_context":
            result = fn(context.eval_ctx, value, *args, **kwargs)
        elif passes == "environment":
            result = fn(env, value, *args, **kwargs)
        else:
            result = fn(value, *args, **kwargs)
        return budget.result(result, f"the result of |{name}")

    bounded.__name__ = bounded.__qualname__ = f"bounded_{name}"
    return bounded
