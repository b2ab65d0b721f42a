def inner(d):
    return d["missing"]


def outer():
    try:
        return inner({})
    except KeyError as e:
        raise RuntimeError("lookup failed") from e


print("before", flush=True)
outer()
