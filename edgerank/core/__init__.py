"""The numpy-only core shared by training, export, the model store and the app runtime.

Nothing here imports torch or any edgerank package above it: the artifact manifest (how it is
built, read and validated, with its JSON Schema), the reference requests an artifact keeps and
``publish`` replays, and the rule for model names.
"""
