"""The ``dyag`` command line, on top of every package and imported by none.

:mod:`cli.main` builds the one Typer app from the plain list :data:`cli.main.COMMANDS`; each
other module holds the commands of one area. Errors reach the user in one place
(:func:`cli.main.guarded`).
"""
