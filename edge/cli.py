"""`juanzong edge …`, `juanzong demo`, `juanzong bench`: the appliance's commands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    edge = sub.add_parser("edge", help="the scanning-point appliance")
    edge.add_subparsers(dest="edge_command", required=True)
