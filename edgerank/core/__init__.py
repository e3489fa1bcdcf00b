"""The numpy-only core shared by training, export, the model store and the app runtime.

Nothing here imports torch or any edgerank package above it: the artifact manifest (how it is
built, read and validated) and the rule for model names.
"""
