"""`juanzong central …`: the court server's commands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    central = sub.add_parser("central", help="the central archive server")
    central.add_subparsers(dest="central_command", required=True)
