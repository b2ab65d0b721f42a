"""Hand-written hooks for what the declarative selectors cannot say.

A declaration names one as `hook: module:attribute`; the attribute of
aco.patches.hooks.<module> is an object (a class, usually) whose methods the
runtime calls at these stages, each optional:

    rebuild(data, kwargs)  the program's response object from a recorded (or
                           edited) JSON dump, given the call's keyword
                           arguments; replaces response_type.model_validate.

A hook runs inside the program: a failure falls back to what the runtime
would do without it, and is logged naming the declaration.
"""
