"""Replacing a library's function or method in place: the wrapper is named like the
original and marked, so installing twice wraps once."""


def wraps(wrapper, original):
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attribute, getattr(original, attribute))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = original
    return wrapper


def replace(owner, name, make):
    """`owner.name = make(original)`, named like the original and marked, so a second
    install (the hook seeing the module again) leaves it alone."""
    original = getattr(owner, name, None)
    if original is None or getattr(original, "__optadvisor__", False):
        return
    wrapper = wraps(make(original), original)
    wrapper.__optadvisor__ = True
    setattr(owner, name, wrapper)
